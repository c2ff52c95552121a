"""Credentials stay secret: secrets under a customer KMS key, no credential ever in a stack output or in plaintext.

What a policy pack can see: pulumi-policy unwraps secret values before a validator runs (``deserialize.py``), so the
pack cannot tell a secret from a plain value. It therefore enforces what it can observe — no stack output carries a
credential (by name, or by containing the value of a sensitive config key), secret or not, because the stack outputs
contract never exports one. Whether a value *arrived as a secret* is checked one step earlier by the offline gate
(``scripts/preview.py``), which sees the wire values with their secret markers and applies ``plaintext_findings`` below
under this same policy name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Iterable

import pulumi.runtime
from pulumi.runtime.rpc import UNKNOWN as WIRE_UNKNOWN, is_rpc_secret
from pulumi_policy import Severity

from .framework import Check, StackCheck, resource_policy, stack_policy
from .values import is_unknown, walk

STACK_TYPE = "pulumi:pulumi:Stack"
# Secret values shorter than this are too likely to occur by chance (e.g. "true", "8443") to be searched for.
MIN_SECRET_LENGTH = 8

_SENSITIVE_WORDS = frozenset({"password", "passwd", "passphrase", "secret", "token", "credential", "credentials"})
# Names of credentials made of two words; "external id" ends in a word that elsewhere marks a reference.
_SENSITIVE_PAIRS = frozenset({("external", "id"), ("private", "key"), ("api", "key")})
# A name ending in one of these names a reference to a credential (its ARN, ID, version), not the value, whatever
# words come before it: clickhouse_password_secret_arn, clickhouse_password_kms_key_id, passwordWoVersion.
_REFERENCE_WORDS = frozenset({
    "arn", "arns", "id", "ids", "name", "names", "url", "urls", "uri", "version", "versions", "path", "prefix",
    "type", "kind", "length", "count", "days", "hours", "enabled", "policy", "rotation", "region",
})
# Two-word endings that name a reference: a KMS key (passwordKmsKey) is where a credential is encrypted, not one.
_REFERENCE_PAIRS = frozenset({("kms", "key"), ("kms", "keys")})
# Values that are references by their shape: ARNs, KMS key IDs (uuid or mrk-...), KMS aliases.
_REFERENCE_VALUE = re.compile(
    r"^(arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{0,12}:.+|alias/[\w/_-]+"
    r"|(mrk-)?[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$")


def words(name: str) -> list[str]:
    """``clickhouse_password_secret_arn`` / ``passwordWoVersion`` / ``ExternalID`` split into lower-case words."""
    return [w.lower() for w in re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", name)]


def is_sensitive_name(name: str) -> bool:
    """Whether a property, output or config key named ``name`` holds a credential itself."""
    parts = words(name.rsplit(":", 1)[-1])
    if not parts:
        return False
    ending = tuple(parts[-2:])
    if ending in _SENSITIVE_PAIRS:
        return True
    if parts[-1] in _REFERENCE_WORDS or ending in _REFERENCE_PAIRS:
        return False
    return any(pair in _SENSITIVE_PAIRS for pair in zip(parts, parts[1:])) or any(p in _SENSITIVE_WORDS for p in parts)


def is_reference_value(value: str) -> bool:
    """An ARN, KMS key ID or alias: it points at a credential or a key, it is not one."""
    return bool(_REFERENCE_VALUE.match(value.strip()))


def sensitive_config_values() -> list[str]:
    """Values of stack config keys that hold credentials: sensitive by name, or listed as secret by the engine.

    References (ARNs, key IDs, aliases) are left out even under a secret key: finding a key's ARN in an output says
    nothing about a credential.
    """
    config = pulumi.runtime.get_config_env()
    secret_keys = set(pulumi.runtime.get_config_secret_keys_env())
    return [v for k, v in config.items()
            if (k in secret_keys or is_sensitive_name(k)) and isinstance(v, str) and len(v) >= MIN_SECRET_LENGTH
            and not is_reference_value(v)]


def secret_config_values() -> set[str]:
    """Values of the stack config keys that hold credentials: listed as secret, or sensitive by name.

    The CLI hands a policy pack the decrypted config (``PULUMI_CONFIG``) but, unlike a program, no list of which keys
    were set with ``--secret`` (checked with CLI v3.274: ``PULUMI_CONFIG_SECRET_KEYS`` is absent), so a key's name
    counts too; the program itself refuses such a key in plain text in the stack file.
    """
    secret_keys = set(pulumi.runtime.get_config_secret_keys_env())
    return {v for k, v in pulumi.runtime.get_config_env().items()
            if (k in secret_keys or is_sensitive_name(k)) and isinstance(v, str) and v}


def _customer_key(check: Check) -> None:
    key = check.props.get("kmsKeyId")
    # An unknown kmsKeyId is set, to a key this stack creates.
    if is_unknown(key):
        return
    if not key or str(key).endswith("alias/aws/secretsmanager"):
        check.report("kmsKeyId is not set, so the secret uses the AWS managed key aws/secretsmanager; "
                     "use a customer-managed KMS key to control who can decrypt it.")


secret_customer_kms_key = resource_policy(
    "secret-customer-kms-key",
    "Secrets Manager secrets are encrypted with a customer-managed KMS key.",
    Severity.LOW,
    _customer_key,
    types=["aws:secretsmanager/secret:Secret"],
    advisory=True,
)


def _outputs(check: StackCheck) -> None:
    secrets = sensitive_config_values()
    for stack in check.of_types([STACK_TYPE]):
        for path, key, value in walk(stack.props):
            if is_sensitive_name(key) and isinstance(value, str) and value and not is_reference_value(value):
                check.report(f"stack output {path} carries a credential; credentials are never stack outputs, "
                             "not even as secrets (read them from Secrets Manager).", stack.urn)
            elif isinstance(value, str) and any(s in value for s in secrets):
                check.report(f"stack output {path} contains the value of a sensitive config key.", stack.urn)


no_plaintext_secrets = stack_policy(
    "no-plaintext-secrets",
    "No credential reaches a stack output, and no secret value travels in plaintext.",
    Severity.CRITICAL,
    _outputs,
)

POLICIES = [secret_customer_kms_key, no_plaintext_secrets]


def plaintext_findings(wire: Mapping[str, Any], secret_values: Iterable[str] = ()) -> list[str]:
    """Where the wire form of inputs or outputs (secret markers intact) carries a secret in plaintext.

    A value is a finding when it sits under a credential-named key without the secret marker, or when it contains a
    secret config value outside any secret marker. Used by the offline gate, which sees the wire; the pack cannot.
    """
    needles = [s for s in secret_values
               if isinstance(s, str) and len(s) >= MIN_SECRET_LENGTH and not is_reference_value(s)]
    findings: list[str] = []

    def visit(value: Any, path: str, key: str) -> None:
        if is_rpc_secret(value):
            return
        if isinstance(value, Mapping):
            for child_key, item in value.items():
                visit(item, f"{path}.{child_key}" if path else str(child_key), str(child_key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                visit(item, f"{path}[{index}]", key)
        elif isinstance(value, str) and value and value != WIRE_UNKNOWN:
            if is_sensitive_name(key) and not is_reference_value(value):
                findings.append(f"{path} is a credential but is not marked secret")
            elif any(n in value for n in needles):
                findings.append(f"{path} contains the value of a secret config key but is not marked secret")

    visit(wire, "", "")
    return findings
