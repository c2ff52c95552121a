"""The pulumi-random provider double: a fresh random password on every create, kept for the resource's life."""

import secrets
import string
from typing import Any, Mapping, Optional

from e2e.doubles.provider import Package, shared_fakes

_PASSWORD = "random:index/randomPassword:RandomPassword"
_DEFAULT_SPECIAL = "!@#$%&*()-_=+[]{}<>:?"


def _password(inputs: Mapping[str, Any]) -> str:
    """A password honouring the resource's length, character classes and minimum counts."""
    classes = [
        (inputs.get("upper", True), string.ascii_uppercase, inputs.get("minUpper", 0)),
        (inputs.get("lower", True), string.ascii_lowercase, inputs.get("minLower", 0)),
        (inputs.get("numeric", inputs.get("number", True)), string.digits, inputs.get("minNumeric", 0)),
        (inputs.get("special", True), inputs.get("overrideSpecial") or _DEFAULT_SPECIAL, inputs.get("minSpecial", 0)),
    ]
    enabled = [(chars, int(minimum)) for on, chars, minimum in classes if on]
    chars = [secrets.choice(pool) for pool, minimum in enabled for _ in range(minimum)]
    alphabet = "".join(pool for pool, _ in enabled)
    chars += [secrets.choice(alphabet) for _ in range(int(inputs["length"]) - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def _computed(typ: str, name: str, inputs: Mapping[str, Any], region: str,
              olds: Optional[Mapping[str, Any]] = None) -> tuple[str, dict[str, Any]]:
    resource_id, outputs = shared_fakes(typ, name, inputs, region, olds)
    if typ != _PASSWORD:
        return resource_id, outputs
    if olds and "result" in olds:
        return resource_id, {"result": olds["result"], "bcryptHash": olds.get("bcryptHash", "")}
    # Unlike the offline fake, a real value: the state must hold it only encrypted. The hash is bcrypt-shaped.
    return resource_id, {"result": _password(inputs), "bcryptHash": "$2a$10$" + secrets.token_urlsafe(40)[:53]}


PACKAGE = Package(
    name="random",
    sdk_distribution="pulumi_random",
    all_force_new=frozenset({_PASSWORD}),
    # pulumi_random/random_password.py: additional_secret_outputs.
    secret_outputs={_PASSWORD: frozenset({"bcryptHash", "result"})},
    computed=_computed,
)
