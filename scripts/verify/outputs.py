"""Reading the stack's outputs (what ``pulumi stack output --json`` prints) for the connectivity check.

The file may come from anywhere (a CI artifact, a pipe, a hand edit), so it is read defensively by
``stack_outputs.read_file`` (bounded size, strict UTF-8, no duplicate keys, no NaN, no absurdly long integers, no
nesting deep enough to exhaust the parser). Anything else than the contract's shapes stops the run with a
``VerifyError`` naming the key and what is expected, before any AWS call or network traffic.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any, BinaryIO, Mapping
from urllib.parse import urlsplit

import stack_outputs
from scripts.verify.report import VerifyError
from stack_outputs import json_type

REGENERATE = "`pulumi stack output --json --show-secrets --stack <stack> > outputs.json`"
MASKED = "[secret]"  # what `pulumi stack output --json` prints for a secret output without --show-secrets

_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_VPC_ID = re.compile(r"^vpc-[0-9a-f]{8,17}$")
_VPCE_ID = re.compile(r"^vpce-[0-9a-f]{8,17}$")
_SECRET_ARN = re.compile(
    r"^arn:aws[a-z-]*:secretsmanager:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):secret:[A-Za-z0-9/_+=.@-]+$"
)
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


@dataclass(frozen=True)
class ByocTarget:
    """The BYOC side: the private zone's ``clickhouse.<domain>`` record (absent until phase 3) in the BYOC VPC."""

    vpc_id: str
    record_name: str | None


@dataclass(frozen=True)
class StackTarget:
    """What the connectivity check needs from the outputs, validated."""

    url: str
    host: str
    https_port: int
    user: str
    secret_arn: str
    account_id: str
    region: str
    vpc_id: str
    vpc_endpoint_id: str
    byoc: ByocTarget | None


def _show(value: Any) -> str:
    """A short, safe rendering of a user-supplied value for an error message."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def load_outputs(source: str, stdin: BinaryIO) -> dict[str, Any]:
    """The JSON object in ``source`` (a path, or ``-`` for ``stdin``); VerifyError when it is not one."""
    try:
        return stack_outputs.read_file(source, stdin)
    except stack_outputs.OutputsFileError as err:
        reason = str(err)
        raise VerifyError(f"{reason[0].upper()}{reason[1:]}. Write it with {REGENERATE}; redirect only stdout, so CLI "
                          "messages do not end up in it.") from None


def _contract(what: str) -> VerifyError:
    return VerifyError(f"The outputs do not follow the stack outputs contract: {what}. "
                       f"Regenerate them with {REGENERATE} after a successful `pulumi up`.")


def _text(source: Mapping[str, Any], key: str, where: str = "") -> str:
    name = f"{where}.{key}" if where else key
    if key not in source:
        raise _contract(f"required output '{name}' is missing")
    value = source[key]
    if value == MASKED:
        raise _contract(f"output '{name}' is masked as {MASKED}; add --show-secrets (no output holds the password)")
    if not isinstance(value, str) or not value.strip():
        raise _contract(f"output '{name}' must be a non-empty string, got {json_type(value)} {_show(value)}")
    return value


def _matching(source: Mapping[str, Any], key: str, pattern: re.Pattern[str], expected: str, where: str = "") -> str:
    value = _text(source, key, where)
    if not pattern.match(value):
        raise _contract(f"output '{f'{where}.{key}' if where else key}' must be {expected}, got {_show(value)}")
    return value


def hostname(value: str) -> str | None:
    """``value`` as a lower-case DNS name, or None when it is not one (IP literals included)."""
    name = value.rstrip(".").lower()
    try:
        ipaddress.ip_address(name)
        return None
    except ValueError:
        pass
    labels = name.split(".")
    if len(name) > 253 or len(labels) < 2 or labels[-1].isdigit() or not all(_LABEL.match(label) for label in labels):
        return None
    return name


def _host(source: Mapping[str, Any], key: str, where: str = "") -> str:
    name = hostname(_text(source, key, where))
    if name is None:
        raise _contract(f"output '{f'{where}.{key}' if where else key}' must be a DNS name, "
                        f"got {_show(source[key])}")
    return name


def _url(raw: Mapping[str, Any], host: str) -> tuple[str, int]:
    url = _text(raw, "clickhouse_url")
    expected = f"an https:// URL of the service's private hostname with its port (https://{host}:8443)"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise _contract(f"output 'clickhouse_url' must be {expected}, got {_show(url)}") from None
    if (parts.scheme != "https" or parts.username is not None or parts.password is not None or port is None
            or parts.path not in ("", "/") or parts.query or parts.fragment):
        raise _contract(f"output 'clickhouse_url' must be {expected}, got {_show(url)}")
    if (parts.hostname or "").rstrip(".") != host:
        raise _contract(f"output 'clickhouse_url' names host {_show(parts.hostname)}, but 'private_dns_hostname' "
                        f"is {_show(host)}; both come from the same service")
    return f"https://{host}:{port}", port


def parse_outputs(raw: Mapping[str, Any]) -> StackTarget:
    """The validated target; VerifyError naming the first key that breaks the contract."""
    region = _matching(raw, "aws_region", _REGION, "an AWS region name such as us-east-1")
    host = _host(raw, "private_dns_hostname")
    url, port = _url(raw, host)
    secret_arn = _matching(raw, "clickhouse_password_secret_arn", _SECRET_ARN, "a Secrets Manager secret ARN")
    arn = _SECRET_ARN.match(secret_arn)
    assert arn is not None  # matched just above
    if arn["region"] != region:
        raise _contract(f"output 'clickhouse_password_secret_arn' is in region {arn['region']}, but 'aws_region' is "
                        f"{region}")
    byoc = raw.get("byoc")
    if byoc is not None and not isinstance(byoc, dict):
        raise _contract(f"output 'byoc' must be an object, got {json_type(byoc)}")
    return StackTarget(
        url=url,
        host=host,
        https_port=port,
        user=_text(raw, "clickhouse_user"),
        secret_arn=secret_arn,
        account_id=arn["account"],
        region=region,
        vpc_id=_matching(raw, "vpc_id", _VPC_ID, "a VPC ID (vpc-...)"),
        vpc_endpoint_id=_matching(raw, "vpc_endpoint_id", _VPCE_ID, "a VPC endpoint ID (vpce-...)"),
        byoc=ByocTarget(
            vpc_id=_matching(byoc, "vpc_id", _VPC_ID, "a VPC ID (vpc-...)", "byoc"),
            record_name=_host(byoc, "clickhouse_record_name", "byoc") if "clickhouse_record_name" in byoc else None,
        ) if byoc is not None else None,
    )
