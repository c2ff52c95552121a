"""What the live audit reads and reports: the parsed stack outputs, findings and per-check results.

``parse_outputs`` turns what ``pulumi stack output --json`` prints into typed values and rejects a file that does not
follow the stack outputs contract with an ``AuditError`` naming the offending key, so the audit never starts on
half-known inputs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping

import stack_outputs
from scripts.check_status import CheckStatus


class AuditError(Exception):
    """The audit could not run (exit code 2); the message tells the user what to fix."""


class NotYetBuilt(Exception):
    """Raised by a check that found nothing of what ClickHouse builds while the outputs expect nothing yet."""


@dataclass(frozen=True)
class Finding:
    """One violation seen in the live account, named like the policy pack's policy when one matches."""

    policy: str
    resource_id: str
    message: str


@dataclass(frozen=True)
class CheckResult:
    check_id: str
    title: str
    status: CheckStatus
    findings: tuple[Finding, ...] = ()
    skip_reason: str | None = None
    # What the check saw beyond pass/fail (a summary of activity, what it counted), one line each.
    details: tuple[str, ...] = ()


_ARN = re.compile(r"^arn:(?P<partition>aws[a-z-]*):(?P<service>[^:]+):(?P<region>[^:]*):(?P<account>[^:]*):(?P<resource>.+)$")
ACCOUNT_ID = re.compile(r"^\d{12}$")


@dataclass(frozen=True)
class Arn:
    text: str
    service: str
    region: str
    account: str
    resource: str  # what follows the account, e.g. ``service/<cluster>/<service>``


def parse_arn(text: str) -> Arn | None:
    """The parts of an ARN, or None when ``text`` is not one."""
    match = _ARN.match(text)
    if not match:
        return None
    return Arn(text, match["service"], match["region"], match["account"], match["resource"])


@dataclass(frozen=True)
class ByocOutputs:
    region: str
    account_id: str
    vpc_id: str
    subnet_ids: tuple[str, ...]
    s3_gateway_endpoint_id: str
    interface_endpoint_ids: Mapping[str, str]
    security_group_ids: Mapping[str, str]
    role_arns: Mapping[str, str]
    management_role_name: str
    # Where the management role comes from: "cloudformation" (the stack deploys ClickHouse's template) or "existing".
    bootstrap_mode: str
    # The CloudFormation stack of ClickHouse's template (cloudformation only).
    bootstrap_stack_name: str | None
    kms_key_arns: Mapping[str, str]
    bucket_names: Mapping[str, str]
    log_group_names: Mapping[str, str]
    hosted_zone_id: str
    domain: str
    # The NLB DNS name reached the stack (phase 3): ClickHouse's infrastructure exists.
    record_name: str | None


@dataclass(frozen=True)
class StackOutputs:
    aws_region: str
    vpc_id: str
    vpc_endpoint_id: str | None
    vpc_endpoint_service_name: str | None
    endpoint_security_group_id: str | None
    client_security_group_id: str | None
    private_dns_hostname: str | None
    private_dns_zone_id: str | None
    password_secret_arn: str | None
    password_kms_key_id: str | None
    service_id: str | None
    byoc: ByocOutputs | None
    alarm_topic_arn: str
    alarm_names: tuple[str, ...]
    dashboard_name: str
    # Present only with metricsEnabled.
    metrics_workspace_id: str | None
    metrics_agent_service_arn: str | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def clickhouse_built(self) -> bool:
        """Whether the outputs say ClickHouse has built its BYOC infrastructure (byocInfrastructureId or its NLB)."""
        return bool(self.byoc and (self.byoc.record_name or self.service_id))

    def arns(self) -> list[Arn]:
        """Every ARN anywhere in the outputs, in file order."""
        return [arn for text in strings(self.raw) if (arn := parse_arn(text))]

    def expected_account_ids(self) -> set[str]:
        """AWS accounts the outputs say the stack lives in (byoc.account_id and the account field of every ARN)."""
        accounts = {arn.account for arn in self.arns() if arn.account}
        if self.byoc:
            accounts.add(self.byoc.account_id)
        return accounts


def strings(value: Any) -> Iterator[str]:
    """Every string anywhere in nested mappings and lists."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for child in value.values():
            yield from strings(child)
    elif isinstance(value, list):
        for child in value:
            yield from strings(child)


def _where(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# How to (re)create the file the audit reads; every message about a bad file ends with it.
REGENERATE = "`pulumi stack output --json --stack <stack> > outputs.json`"


def _fail(what: str) -> AuditError:
    return AuditError(
        f"The outputs file does not follow the stack outputs contract: {what}. Regenerate it with {REGENERATE} "
        "after a successful `pulumi up` and run again."
    )


# What `pulumi stack output --json` prints for a secret-marked output unless --show-secrets is given.
_MASKED = "[secret]"


def _value(source: Mapping[str, Any], key: str, path: str = "") -> str:
    value = source[key]
    if value == _MASKED:
        raise _fail(
            f"output '{_where(path, key)}' is masked as {_MASKED}; regenerate the file with "
            "`pulumi stack output --json --show-secrets` (the audit reads no secret values, only IDs and ARNs)"
        )
    if not isinstance(value, str) or not value.strip():
        raise _fail(f"output '{_where(path, key)}' must be a non-empty string, got {value!r}")
    return value


# Presence is checked once against the contract (``stack_outputs.missing``); these read and type what is there.


def _mapping(source: Mapping[str, Any], key: str, path: str = "") -> Mapping[str, Any]:
    value = source[key]
    if not isinstance(value, Mapping):
        raise _fail(f"output '{_where(path, key)}' must be an object, got {type(value).__name__}")
    return value


def _text_map(source: Mapping[str, Any], key: str, path: str) -> dict[str, str]:
    """A mapping of names to non-empty strings (the contract names the keys that must be there)."""
    inner = _mapping(source, key, path)
    where = _where(path, key)
    return {name: _value(inner, name, where) for name in inner}


def _text_list(source: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
    value = source[key]
    where = _where(path, key)
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise _fail(f"output '{where}' must be a list of non-empty strings, got {value!r}"[:300])
    return tuple(value)


def _checked_arn(value: str, where: str, service: str) -> str:
    arn = parse_arn(value)
    if arn is None or arn.service != service:
        raise _fail(f"output '{where}' must be a {service} ARN, got {value!r}")
    return value


def _top_arn(raw: Mapping[str, Any], key: str, service: str) -> str:
    return _checked_arn(_value(raw, key), key, service)


def _optional_top_arn(raw: Mapping[str, Any], key: str, service: str) -> str | None:
    """An ARN output the contract marks optional (e.g. the secret's key, exported only for a customer key)."""
    return _top_arn(raw, key, service) if key in raw else None


BOOTSTRAP_MODES = ("cloudformation", "existing")


def _bootstrap_mode(raw: Mapping[str, Any], path: str) -> str:
    mode = _value(raw, "bootstrap_mode", path)
    if mode not in BOOTSTRAP_MODES:
        raise _fail(f"output 'byoc.bootstrap_mode' must be one of {', '.join(BOOTSTRAP_MODES)}, got {mode!r}")
    return mode


def _parse_byoc(raw: Mapping[str, Any]) -> ByocOutputs:
    path = "byoc"
    account_id = _value(raw, "account_id", path)
    if not ACCOUNT_ID.match(account_id):
        raise _fail(f"output 'byoc.account_id' must be a 12-digit AWS account ID, got {account_id!r}")
    roles = _text_map(raw, "role_arns", path)
    mode = _bootstrap_mode(raw, path)
    if mode == "cloudformation" and "bootstrap_stack_name" not in raw:
        raise _fail("output 'byoc.bootstrap_stack_name' is missing, though byoc.bootstrap_mode is cloudformation")
    for name, value in roles.items():
        _checked_arn(value, f"byoc.role_arns.{name}", "iam")
    buckets = _mapping(raw, "buckets", path)
    return ByocOutputs(
        region=_value(raw, "region", path),
        account_id=account_id,
        vpc_id=_value(raw, "vpc_id", path),
        subnet_ids=_text_list(raw, "subnet_ids", path),
        s3_gateway_endpoint_id=_value(raw, "s3_gateway_endpoint_id", path),
        # Whatever byocInterfaceEndpoints asked for: the output's keys, not a fixed list.
        interface_endpoint_ids=_text_map(raw, "interface_endpoint_ids", path),
        security_group_ids=_text_map(raw, "security_group_ids", path),
        role_arns=roles,
        management_role_name=_value(raw, "management_role_name", path),
        bootstrap_mode=mode,
        bootstrap_stack_name=_value(raw, "bootstrap_stack_name", path) if mode == "cloudformation" else None,
        kms_key_arns=_text_map(raw, "kms_key_arns", path),
        bucket_names={
            name: _value(_mapping(buckets, name, "byoc.buckets"), "name", f"byoc.buckets.{name}") for name in buckets
        },
        log_group_names=_text_map(raw, "log_group_names", path),
        hosted_zone_id=_value(raw, "hosted_zone_id", path),
        domain=_value(raw, "domain", path),
        record_name=_value(raw, "clickhouse_record_name", path) if "clickhouse_record_name" in raw else None,
    )


def parse_outputs(raw: Any) -> StackOutputs:
    """Typed stack outputs; raises AuditError naming the first key that breaks the contract."""
    if not isinstance(raw, Mapping):
        raise _fail(f"the top level must be a JSON object of outputs, got {type(raw).__name__}")
    byoc_raw = raw.get("byoc")
    if byoc_raw is not None and not isinstance(byoc_raw, Mapping):
        raise _fail(f"output 'byoc' must be an object, got {type(byoc_raw).__name__}")
    absent = stack_outputs.missing(raw)
    if absent:
        raise _fail(f"required output '{absent[0]}' is missing")
    metrics = [key for key in ("metrics_workspace_id", "metrics_agent_service_arn") if key in raw]
    if len(metrics) == 1:
        raise _fail(f"output '{metrics[0]}' comes without its metricsEnabled partner")
    return StackOutputs(
        aws_region=_value(raw, "aws_region"),
        vpc_id=_value(raw, "vpc_id"),
        vpc_endpoint_id=_value(raw, "vpc_endpoint_id") if "vpc_endpoint_id" in raw else None,
        vpc_endpoint_service_name=_value(raw, "vpc_endpoint_service_name") if "vpc_endpoint_service_name" in raw else None,
        endpoint_security_group_id=_value(raw, "endpoint_security_group_id") if "endpoint_security_group_id" in raw else None,
        client_security_group_id=_value(raw, "client_security_group_id") if "client_security_group_id" in raw else None,
        private_dns_hostname=_value(raw, "private_dns_hostname") if "private_dns_hostname" in raw else None,
        private_dns_zone_id=_value(raw, "private_dns_zone_id") if "private_dns_zone_id" in raw else None,
        password_secret_arn=_optional_top_arn(raw, "clickhouse_password_secret_arn", "secretsmanager"),
        password_kms_key_id=_optional_top_arn(raw, "clickhouse_password_kms_key_id", "kms"),
        service_id=_value(raw, "service_id") if "service_id" in raw else None,
        byoc=_parse_byoc(byoc_raw) if byoc_raw is not None else None,
        alarm_topic_arn=_top_arn(raw, "alarm_topic_arn", "sns"),
        alarm_names=_text_list(raw, "alarm_names", ""),
        dashboard_name=_value(raw, "dashboard_name"),
        metrics_workspace_id=_value(raw, "metrics_workspace_id") if "metrics_workspace_id" in raw else None,
        metrics_agent_service_arn=_optional_top_arn(raw, "metrics_agent_service_arn", "ecs"),
        raw=raw,
    )
