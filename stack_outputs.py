"""The stack outputs contract: every output the program exports, which are always there, and the keys of ``byoc``.

One declaration, read by the export in ``__main__.py`` (which refuses to export anything else), the live audit
(``scripts.audit``), the handoff document (``scripts.handoff``), the env file of ``scripts.stack outputs`` and the
README's test. Plain Python without Pulumi, so the scripts read it without loading the SDK. No output is ever a
secret: the password and the BYOC ExternalId are never exported.

``read_file`` reads what ``pulumi stack output --json`` wrote, for the scripts that take such a file.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any, BinaryIO, Iterator, Mapping


class ContractError(ValueError):
    """Values that do not follow the contract (a required output missing, or one it does not declare)."""


@dataclass(frozen=True)
class Output:
    """One output, or one key of an object output."""

    name: str
    description: str
    # An optional output is exported only ``when`` ("once ...", "when ..."); a required one always.
    when: str = ""
    # The fixed keys of an object output; ``open_keys`` when the stack config chooses its keys instead.
    keys: tuple[Output, ...] = ()
    open_keys: bool = False

    @property
    def required(self) -> bool:
        return not self.when

    def key(self, name: str) -> Output:
        for key in self.keys:
            if key.name == name:
                return key
        raise KeyError(f"{self.name} declares no key {name!r}")


def _named(*names: str, what: str) -> tuple[Output, ...]:
    return tuple(Output(name, f"{what}: {name}") for name in names)


def _bucket(purpose: str) -> Output:
    return Output(purpose, f"the {purpose} bucket", keys=(Output("name", "bucket name"), Output("arn", "bucket ARN")))



BYOC = Output(
    "byoc",
    "the customer side of ClickHouse BYOC, as ClickHouse's onboarding asks for it",
    when="when byocEnabled is true",
    keys=(
        Output("region", "AWS region"),
        Output("account_id", "AWS account ID"),
        Output("vpc_id", "the VPC ClickHouse runs in"),
        Output("vpc_cidr", "its CIDR block"),
        Output("egress", "how the VPC reaches the internet for Tailscale: nat, transit-gateway or none (acknowledged)"),
        Output("subnet_ids", "private subnets, one per zone"),
        Output("availability_zones", "their zones"),
        Output("route_table_ids", "their route tables"),
        Output("s3_gateway_endpoint_id", "the S3 gateway endpoint"),
        Output("interface_endpoint_ids", "interface endpoints by AWS service (byocInterfaceEndpoints)", open_keys=True),
        Output("security_group_ids", "security groups by purpose",
               keys=_named("nodes", "pods", "nlb", "endpoints", what="security group")),
        Output("role_arns", "IAM roles by purpose", keys=(
            *_named("eks_node", "management", what="role"),
            Output("pods", "role of the ClickHouse pods (byocPodAccess)",
                   when="with pod-identity from the start; with irsa once ClickHouse shares the EKS OIDC issuer URL "
                        "(phase 3)"),
        )),
        Output("management_role_name", "name of the role ClickHouse assumes: always ClickHouseManagementRole"),
        Output("bootstrap_mode", "where ClickHouse's bootstrap role (role_arns.management) comes from: cloudformation "
                                 "(this stack deploys ClickHouse's template) or existing (byocBootstrap)"),
        Output("pod_access", "how the ClickHouse pods assume their role: pod-identity or irsa"),
        Output("kms_key_arns", "customer KMS keys by purpose", keys=_named("ebs", "s3", "eks_secrets", what="key")),
        Output("buckets", "S3 buckets by purpose", keys=(_bucket("backups"), _bucket("logs"))),
        Output("log_group_names", "CloudWatch log groups by purpose", keys=(
            *_named("query", "error", what="log group"),
            Output("eks_cluster", "log group: the EKS control plane's",
                   when="when the EKS cluster name is agreed with ClickHouse (byocEksClusterName)"),
        )),
        Output("sns_topic_arn", "the alarm notification topic"),
        Output("hosted_zone_id", "the private zone of the internal domain"),
        Output("domain", "the internal domain"),
        Output("clickhouse_record_name", "the clickhouse.<domain> record",
               when="once ClickHouse shares the NLB DNS name (phase 3)"),
        Output("bootstrap_stack_name", "the CloudFormation stack of ClickHouse's bootstrap template",
               when="with byocBootstrap cloudformation"),
    ),
)

# In the order the program exports them.
_SERVICE = "when the stack has a service: always without BYOC; with BYOC once byocInfrastructureId is set"
_PRIVATELINK = "without BYOC (a ClickHouse Cloud service over PrivateLink)"
OUTPUTS: tuple[Output, ...] = (
    Output("aws_region", "the stack's region"),
    Output("clickhouse_url", "https://<private hostname>:8443", when=_SERVICE),
    Output("clickhouse_user", "the ClickHouse user", when=_SERVICE),
    Output("clickhouse_password_secret_arn", "the Secrets Manager secret holding the password", when=_SERVICE),
    Output("clickhouse_password_kms_key_id", "the customer KMS key of that secret",
           when="when a customer KMS key encrypts the password secret"),
    Output("client_security_group_id", "the security group clients join to reach ClickHouse", when=_PRIVATELINK),
    Output("endpoint_security_group_id", "the security group of the interface endpoint", when=_PRIVATELINK),
    Output("vpc_endpoint_id", "the interface endpoint to ClickHouse", when=_PRIVATELINK),
    Output("vpc_endpoint_service_name", "ClickHouse's endpoint service", when=_PRIVATELINK),
    Output("private_dns_hostname", "the service's private hostname", when=_PRIVATELINK),
    Output("private_dns_zone_id", "the private zone for that hostname", when=_PRIVATELINK),
    Output("service_id", "the ClickHouse service ID", when=_SERVICE),
    Output("vpc_id", "the VPC"),
    Output("subnet_ids", "its private subnets"),
    BYOC,
    Output("alarm_topic_arn", "the SNS topic every alarm notifies (with BYOC, the same topic as byoc.sns_topic_arn)"),
    Output("alarm_names", "every CloudWatch alarm of the stack"),
    Output("dashboard_name", "the stack's CloudWatch dashboard"),
    Output("metrics_workspace_id", "the Amazon Managed Service for Prometheus workspace of ClickHouse's metrics",
           when="when metricsEnabled is true"),
    Output("metrics_prometheus_endpoint", "that workspace's Prometheus endpoint (query at .../api/v1/query)",
           when="when metricsEnabled is true"),
    Output("metrics_agent_service_arn", "the ECS service of the metrics agent", when="when metricsEnabled is true"),
)
ROOT = Output("outputs", "the stack outputs", keys=OUTPUTS)


def lookup(*path: str) -> Output:
    """The declaration of ``path`` (``lookup("byoc", "role_arns", "irsa")``); KeyError when it is not declared."""
    node = ROOT
    for name in path:
        node = node.key(name)
    return node


def optional_paths(declared: Output = ROOT, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Output]]:
    """Every optional output or key, with its path."""
    for key in declared.keys:
        path = prefix + (key.name,)
        if not key.required:
            yield path, key
        yield from optional_paths(key, path)


def _walk(values: Mapping[str, Any], declared: Output, prefix: str) -> Iterator[tuple[str, str]]:
    """("missing" | "undeclared", dotted path) for each break, in declaration order.

    Nested values are checked where they are plain mappings; anything else (a Pulumi Output, a masked secret) is
    judged only by its presence.
    """
    for key in declared.keys:
        where = f"{prefix}{key.name}"
        if key.name not in values:
            if key.required:
                yield "missing", where
        elif key.keys and isinstance(values[key.name], Mapping):
            yield from _walk(values[key.name], key, f"{where}.")
    if not declared.open_keys:
        names = {key.name for key in declared.keys}
        yield from (("undeclared", f"{prefix}{name}") for name in values if name not in names)


def missing(values: Mapping[str, Any]) -> list[str]:
    """Dotted paths of the required outputs ``values`` lacks (``byoc.kms_key_arns.s3``)."""
    return [path for kind, path in _walk(values, ROOT, "") if kind == "missing"]


def undeclared(values: Mapping[str, Any]) -> list[str]:
    """Dotted paths of what ``values`` holds beyond the contract."""
    return [path for kind, path in _walk(values, ROOT, "") if kind == "undeclared"]


def exported(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` in declaration order, optional ones that are None left out; ContractError if they break it."""
    present = {name: value for name, value in values.items() if value is not None}
    found = [f"required output '{path}' is missing" for path in missing(present)]
    found += [f"output '{path}' is not declared" for path in undeclared(present)]
    if found:
        raise ContractError("the program's outputs break the stack outputs contract (stack_outputs.py): "
                            + "; ".join(found))
    return {output.name: present[output.name] for output in OUTPUTS if output.name in present}


# --- files of outputs ------------------------------------------------------------------------------------------

# `pulumi stack output --json` prints a few kilobytes; the cap keeps a wrong path (a log, a device) from being read.
MAX_FILE_BYTES = 4 * 1024 * 1024
# Outputs nest four levels (byoc.buckets.backups.name); readers walk them recursively.
MAX_DEPTH = 32
STDIN = "<stdin>"


class OutputsFileError(ValueError):
    """A file that cannot hold stack outputs: missing, unreadable, too large, not UTF-8 JSON, or not an object."""


class _Refused(ValueError):
    """A JSON construct `pulumi stack output --json` never writes (raised from inside the parser)."""


def read_file(path: str, stdin: BinaryIO | None = None) -> dict[str, Any]:
    """The outputs a file written by ``pulumi stack output --json`` holds (``-`` reads ``stdin``, by default the
    process's standard input).

    The file may come from anywhere, so it is read defensively; every way it can be unusable is an
    ``OutputsFileError`` whose message names the file and what is wrong with it.
    """
    try:
        if path == "-":
            data, name = (stdin or sys.stdin.buffer).read(MAX_FILE_BYTES + 1), STDIN
        else:
            with open(path, "rb") as handle:
                data, name = handle.read(MAX_FILE_BYTES + 1), path
    except FileNotFoundError:
        raise OutputsFileError(f"the outputs file {path} does not exist") from None
    except IsADirectoryError:
        raise OutputsFileError(f"the outputs file {path} is a directory, not a file") from None
    except OSError as err:
        where = "standard input" if path == "-" else f"the outputs file {path}"
        raise OutputsFileError(f"{where} cannot be read ({err.strerror or err})") from None
    return parse_file(data, name)


def parse_file(data: bytes, name: str) -> dict[str, Any]:
    """``read_file`` for bytes already read from ``name`` (``STDIN`` for standard input)."""
    where = "standard input" if name == STDIN else f"the outputs file {name}"
    if len(data) > MAX_FILE_BYTES:
        raise OutputsFileError(f"{where} is larger than {MAX_FILE_BYTES // 2**20} MiB, far more than stack outputs")
    try:
        # utf-8-sig: editors and PowerShell redirections often add a byte order mark.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise OutputsFileError(f"{where} is not UTF-8 text (byte {err.start})") from None
    try:
        value = json.loads(text, object_pairs_hook=_unique_keys, parse_int=_integer, parse_constant=_refuse_constant)
    except json.JSONDecodeError as err:
        raise OutputsFileError(f"{where} is not valid JSON ({err.msg} at line {err.lineno}, column {err.colno})") \
            from None
    except RecursionError:
        raise OutputsFileError(f"{where} nests values far deeper than stack outputs do") from None
    except _Refused as err:
        raise OutputsFileError(f"{where} {err}") from None
    if _depth(value) > MAX_DEPTH:
        raise OutputsFileError(f"{where} nests values more than {MAX_DEPTH} levels deep; stack outputs use four")
    if not isinstance(value, dict):
        raise OutputsFileError(f"{where} must hold a JSON object of stack outputs, not {json_type(value)}")
    return value


def json_type(value: Any) -> str:
    """How to name the JSON type of a parsed value in a message: "a string", "an array", ..."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "null"


def _depth(value: Any) -> int:
    """How deeply objects and arrays nest in ``value`` (without recursion, whatever the input)."""
    deepest, pending = 0, [(value, 0)]
    while pending:
        node, depth = pending.pop()
        deepest = max(deepest, depth)
        if isinstance(node, dict):
            pending += [(child, depth + 1) for child in node.values()]
        elif isinstance(node, list):
            pending += [(child, depth + 1) for child in node]
    return deepest


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _Refused(f"has the key {json.dumps(key)[:80]} twice in one object")
        found[key] = value
    return found


# Outputs hold no numbers of note; Python refuses to convert integers of more than 4300 digits anyway (with a
# ValueError the decoder does not wrap).
MAX_INTEGER_DIGITS = 100


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise _Refused(f"holds an integer with {len(text.lstrip('-'))} digits, which no stack output has")
    return int(text)


def _refuse_constant(name: str) -> Any:
    raise _Refused(f"holds {name}, which is not a JSON value")
