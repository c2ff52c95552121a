"""Stack outputs for people and programs: masking, the env-file form, and facts read from exported state."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from enum import Enum
from typing import Any, Mapping

from pulumi.automation import OutputValue

import stack_outputs
from scripts.handoff import SECRET
from scripts.stack.errors import ExitCode, StackScriptError


def mask_outputs(outputs: Mapping[str, OutputValue], *, show_secrets: bool = False) -> dict[str, Any]:
    """Plain output values, with every secret-marked one replaced by ``[secret]`` unless asked otherwise."""
    return {key: out.value if show_secrets or not out.secret else SECRET for key, out in outputs.items()}


def outputs_json(values: Mapping[str, Any]) -> str:
    return json.dumps(values, indent=2, sort_keys=True) + "\n"


@dataclass(frozen=True)
class EnvVar:
    name: str
    output: str

    @property
    def required(self) -> bool:
        """Whether the stack always exports the output (stack_outputs.py); an optional one may be left out."""
        return stack_outputs.lookup(self.output).required


# What an application's control service needs to reach ClickHouse over PrivateLink. The password itself is never
# here: the service reads it from Secrets Manager at CLICKHOUSE_PASSWORD_SECRET_ARN.
ENV_VARS: tuple[EnvVar, ...] = (
    EnvVar("CLICKHOUSE_URL", "clickhouse_url"),
    EnvVar("CLICKHOUSE_USER", "clickhouse_user"),
    EnvVar("CLICKHOUSE_PASSWORD_SECRET_ARN", "clickhouse_password_secret_arn"),
    EnvVar("CLICKHOUSE_PASSWORD_KMS_KEY_ID", "clickhouse_password_kms_key_id"),
    EnvVar("CLICKHOUSE_CLIENT_SECURITY_GROUP_ID", "client_security_group_id"),
    EnvVar("CLICKHOUSE_SERVICE_ID", "service_id"),
    EnvVar("CLICKHOUSE_PRIVATE_DNS_HOSTNAME", "private_dns_hostname"),
    EnvVar("CLICKHOUSE_VPC_ENDPOINT_ID", "vpc_endpoint_id"),
    EnvVar("CLICKHOUSE_VPC_ID", "vpc_id"),
    EnvVar("CLICKHOUSE_SUBNET_IDS", "subnet_ids"),
    EnvVar("AWS_REGION", "aws_region"),
)


def _env_value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(str(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render_env(values: Mapping[str, Any], stack: str) -> str:
    """The outputs as ``KEY=value`` lines in POSIX shell syntax (``set -a; . ./clickhouse.env``).

    Values are quoted only when they need it (IDs, ARNs and URLs never do), so docker's ``--env-file``, systemd's
    ``EnvironmentFile`` and dotenv loaders read the same file. A secret-marked output is left out with a comment.
    """
    missing = [var.output for var in ENV_VARS if var.required and var.output not in values]
    if missing:
        raise StackScriptError(
            ExitCode.USAGE,
            f"Stack '{stack}' has no output {', '.join(missing)}; run `python -m scripts.stack up --stack {stack}` "
            "first.",
        )
    lines = [
        f"# ClickHouse connection settings of stack '{stack}', from its outputs. No secret values: the password",
        "# is read at run time from Secrets Manager (CLICKHOUSE_PASSWORD_SECRET_ARN).",
    ]
    for var in ENV_VARS:
        if var.output not in values:
            continue
        value = values[var.output]
        if value == SECRET:
            lines.append(f"# {var.name} left out: output '{var.output}' is secret.")
            continue
        lines.append(f"{var.name}={shlex.quote(_env_value(value))}")
    return "\n".join(lines) + "\n"


def protected_resources(deployment: Mapping[str, Any] | None) -> list[str]:
    """URNs of resources marked ``protect: true`` in a ``pulumi stack export`` deployment."""
    resources = (deployment or {}).get("resources") or []
    return [res.get("urn", "?") for res in resources if res.get("protect")]


def change_counts(op_map: Mapping[Any, int] | None) -> dict[str, int]:
    """Resource changes by kind with plain string keys (the SDK mixes ``OpType`` members and strings)."""
    counts: dict[str, int] = {}
    for kind, count in (op_map or {}).items():
        counts[kind.value if isinstance(kind, Enum) else str(kind)] = int(count)
    return counts
