"""One evaluator for IAM policy documents: every spelling IAM accepts, and what a statement really lets through.

Parsing accepts a document as JSON text or an object, ``Statement`` as one object or a list, principals as ``"*"``,
a bare ARN or account, ``{"AWS": ...}`` / ``{"Service": ...}`` / ``{"Federated": ...}`` with one value or a list,
``NotPrincipal``, ``Action``/``NotAction``, ``Resource``/``NotResource`` and conditions whose operators carry
``ForAllValues:``/``ForAnyValue:`` qualifiers and ``IfExists`` suffixes. Unknown values (preview placeholders) are kept
as ``UNKNOWN`` so callers can report them.

Who a statement lets in follows IAM's semantics: a condition restricts the callers only if some caller fails it.
It does not when

* its operator is negated (``StringNotEquals``, ``ArnNotLike``, ``NotIpAddress``, ...): everyone else passes, and a
  request without the key passes too;
* it ends in ``IfExists``: a request without the key (an anonymous one, a call through a VPC endpoint) passes;
* it is ``ForAllValues:``: a request without the key satisfies it vacuously;
* it is ``Null`` or ``Bool``: presence or a flag says nothing about *who*;
* a value is a pattern any caller satisfies (``*``, ``?*``, ``????????????``, ``arn:aws:iam::*:*``, ``o-*``), a
  policy variable other than the resource owner's, or an ``aws:SourceIp`` set open to the internet (``addresses``);
* its key does not identify the caller or the network (``aws:SecureTransport``, ``kms:ViaService``, ...).

An ARN pattern still restricts when it pins the account (``arn:aws:sns:us-east-1:111122223333:*``), an org path when it
pins the organization (``o-abc/r-1/ou-2/*``), a ``aws:userid`` when it pins the role ID (``AROAEXAMPLE:*``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Iterable, Optional

from ..values import UNKNOWN, as_list, is_unknown
from .addresses import exposure, parse_network
from .patterns import covers, has_wildcard, literal_prefix, matches, pattern_within


class DocumentError(ValueError):
    """A policy document that is not JSON or not shaped like one."""


_QUALIFIERS = ("forallvalues:", "foranyvalue:")
_NEGATED = frozenset({
    "stringnotequals", "stringnotequalsignorecase", "stringnotlike", "arnnotequals", "arnnotlike", "notipaddress",
    "numericnotequals", "datenotequals", "binarynotequals",
})
_MATCHING = frozenset({"stringequals", "stringequalsignorecase", "stringlike", "arnequals", "arnlike", "ipaddress"})
_POSITIVE_OF = {
    "stringnotequals": "StringEquals", "stringnotequalsignorecase": "StringEqualsIgnoreCase",
    "stringnotlike": "StringLike", "arnnotequals": "ArnEquals", "arnnotlike": "ArnLike", "notipaddress": "IpAddress",
}


@dataclass(frozen=True)
class Condition:
    """One key of one operator block: ``{"ForAllValues:StringLikeIfExists": {"aws:SourceVpce": [...]}}``."""

    operator: str
    key: str
    values: tuple[Any, ...]

    @property
    def _lower(self) -> str:
        return self.operator.lower()

    @property
    def qualifier(self) -> str:
        return next((q[:-1] for q in _QUALIFIERS if self._lower.startswith(q)), "")

    @property
    def if_exists(self) -> bool:
        return self._lower.endswith("ifexists")

    @property
    def base(self) -> str:
        """The operator without qualifier and ``IfExists``, lower-case: ``stringlike``."""
        base = self._lower[len(self.qualifier) + 1:] if self.qualifier else self._lower
        return base[:-len("ifexists")] if self.if_exists else base

    @property
    def negated(self) -> bool:
        return self.base in _NEGATED

    @property
    def matching(self) -> bool:
        """A positive match the key must be present for: the only kind that can restrict who calls."""
        return (self.base in _MATCHING and not self.if_exists and self.qualifier != "forallvalues"
                and bool(self.values))

    @property
    def unknown(self) -> bool:
        return any(is_unknown(v) for v in self.values)


@dataclass(frozen=True)
class Statement:
    index: int
    raw: Mapping[str, Any]

    @property
    def label(self) -> str:
        sid = self.raw.get("Sid")
        return f"statement {sid if isinstance(sid, str) and sid else self.index}"

    @property
    def effect(self) -> Any:
        effect = self.raw.get("Effect")
        return effect if is_unknown(effect) else str(effect or "")

    @property
    def allows(self) -> bool:
        """An Allow, or an effect not known yet (which may turn out to be one)."""
        return is_unknown(self.effect) or self.effect.lower() == "allow"

    @property
    def denies(self) -> bool:
        return not is_unknown(self.effect) and self.effect.lower() == "deny"

    # --- principals ---

    @property
    def not_principal(self) -> bool:
        return "NotPrincipal" in self.raw

    @cached_property
    def _principals(self) -> dict[str, list[Any]]:
        principal = self.raw.get("NotPrincipal" if self.not_principal else "Principal")
        if principal is None:
            return {}
        if is_unknown(principal):
            return {"*": [UNKNOWN]}
        if isinstance(principal, Mapping):
            return {str(kind): as_list(value) for kind, value in principal.items()}
        found: dict[str, list[Any]] = {}
        for value in as_list(principal):
            found.setdefault("*" if value == "*" else "AWS", []).append(value)
        return found

    def principals(self) -> dict[str, list[Any]]:
        """Principals by kind (``AWS``, ``Service``, ``Federated``, ``CanonicalUser``); ``"*"`` is kind ``*``, a bare
        string other than ``"*"`` (which IAM itself rejects) is read as an ``AWS`` principal."""
        return self._principals

    def principal_values(self, kind: str) -> list[Any]:
        return self.principals().get(kind, [])

    @property
    def principal_unknown(self) -> bool:
        return any(is_unknown(v) for values in self.principals().values() for v in values)

    @property
    def public_principal(self) -> bool:
        """The statement names every principal: ``*`` in any spelling, a principal pattern, or ``NotPrincipal`` on an
        Allow (everyone except the few listed)."""
        if self.not_principal:
            return self.allows
        return any(isinstance(v, str) and "*" in v for values in self.principals().values() for v in values)

    # --- actions and resources ---

    def _list(self, key: str) -> list[Any]:
        return as_list(self.raw.get(key))

    @property
    def not_action(self) -> bool:
        return "NotAction" in self.raw

    def covers_action(self, action: str) -> bool:
        """Whether the statement applies to ``action`` (IAM wildcards, case-insensitive; unknown counts as yes)."""
        if self.not_action:
            return not any(isinstance(p, str) and matches(p, action, ignore_case=True) for p in self._list("NotAction"))
        return any(is_unknown(p) or (isinstance(p, str) and matches(p, action, ignore_case=True))
                   for p in self._list("Action"))

    def covers_all_actions(self, prefix: str = "") -> bool:
        """Whether the statement applies to every action starting with ``prefix`` (``"s3:"``; ``""`` for all).

        With ``NotAction`` it does unless an excluded pattern could match such an action.
        """
        if self.not_action:
            low = prefix.lower()
            return not any(isinstance(p, str) and (literal_prefix(p).lower().startswith(low)
                                                  or low.startswith(literal_prefix(p).lower()))
                           for p in self._list("NotAction"))
        return any(is_unknown(p) or (isinstance(p, str) and covers(p, prefix, ignore_case=True, min_rest=1))
                   for p in self._list("Action"))

    def actions_within(self, other: "Statement") -> bool:
        """Every action this statement names is also one ``other`` applies to."""
        if self.not_action:
            return other.covers_all_actions()
        mine = self._list("Action")
        return bool(mine) and all(isinstance(a, str) and (
            other.covers_all_actions() if other.not_action
            else any(isinstance(b, str) and pattern_within(a, b, ignore_case=True) for b in other._list("Action")))
            for a in mine)

    @property
    def not_resource(self) -> bool:
        return "NotResource" in self.raw

    def resources(self) -> list[Any]:
        return self._list("NotResource" if self.not_resource else "Resource")

    def covers_resource(self, arn: str) -> bool:
        if self.not_resource:
            return not any(isinstance(p, str) and matches(p, arn) for p in self.resources())
        return any(is_unknown(p) or (isinstance(p, str) and matches(p, arn)) for p in self.resources())

    def resources_within(self, other: "Statement") -> bool:
        """Every resource this statement names is also one ``other`` applies to (no resources: the policy's own)."""
        theirs = other.resources()
        if not theirs and not other.not_resource:
            return True
        if self.not_resource:
            return other.not_resource is False and any(p == "*" for p in theirs)
        return all(isinstance(a, str) and (
            other.covers_resource(a) if not has_wildcard(a)
            else not other.not_resource and any(isinstance(b, str) and pattern_within(a, b) for b in theirs))
            for a in self.resources())

    # --- conditions ---

    @cached_property
    def _conditions(self) -> list[Condition]:
        block = self.raw.get("Condition")
        if is_unknown(block):
            return [Condition("<unknown>", "<unknown>", (UNKNOWN,))]
        found = []
        for operator, clauses in block.items() if isinstance(block, Mapping) else ():
            if is_unknown(clauses):
                found.append(Condition(str(operator), "<unknown>", (UNKNOWN,)))
                continue
            for key, value in clauses.items() if isinstance(clauses, Mapping) else ():
                found.append(Condition(str(operator), str(key).lower(), tuple(as_list(value))))
        return found

    def conditions(self) -> list[Condition]:
        """Every operator/key pair of the Condition block; all of them must hold for the statement to apply."""
        return self._conditions

    def conditions_on(self, key: str) -> list[Condition]:
        return [c for c in self.conditions() if c.key == key.lower()]


@dataclass(frozen=True)
class Document:
    statements: tuple[Statement, ...]

    def allow_statements(self) -> list[Statement]:
        return [s for s in self.statements if s.allows]


def parse(value: Any) -> Any:
    """A policy document (JSON text or an object); None if absent or empty, ``UNKNOWN`` if not known yet.

    Raises ``DocumentError`` for text that is not JSON or JSON that is not a policy document.
    """
    if is_unknown(value):
        return UNKNOWN
    if value is None or value == "" or value == {}:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as err:
            raise DocumentError(f"is not valid JSON ({err.msg} at position {err.pos})") from None
    if not isinstance(value, Mapping):
        raise DocumentError("is not a JSON object")
    statements = value.get("Statement")
    if is_unknown(statements):
        return UNKNOWN
    items = as_list(statements)
    if any(is_unknown(s) for s in items):
        return UNKNOWN
    return Document(tuple(Statement(i, s) for i, s in enumerate(items) if isinstance(s, Mapping)))


def looks_like_document(value: Any) -> bool:
    """An object or JSON text with a ``Statement`` (for finding policies in inputs not named as such)."""
    if isinstance(value, str):
        text = value.lstrip()
        if not text.startswith("{") or '"Statement"' not in text:
            return False
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            return False
    return isinstance(value, Mapping) and "Statement" in value


# --- values that pin a caller -----------------------------------------------------------------------------------

# Condition keys whose value identifies the caller (its account, organization, identity) or its network.
IDENTITY_KEYS = frozenset({
    "aws:principalorgid", "aws:principalorgpaths", "aws:principalaccount", "aws:principalarn", "aws:userid",
    "aws:sourceaccount", "aws:sourcearn", "aws:sourceowner", "aws:sourceorgid", "aws:sourceorgpaths",
    "aws:sourcevpc", "aws:sourcevpce", "aws:sourceip", "aws:vpcsourceip",
    "kms:calleraccount", "s3:dataaccesspointaccount", "s3:dataaccesspointarn",
})
# A VPC endpoint policy also restricts by *what* may be reached through it: resources of named accounts only.
ENDPOINT_KEYS = IDENTITY_KEYS | {"aws:resourceaccount", "aws:resourceorgid", "aws:resourceorgpaths"}

_ARN_KEYS = frozenset({"aws:principalarn", "aws:sourcearn", "s3:dataaccesspointarn"})
_ORG_PATH_KEYS = frozenset({"aws:principalorgpaths", "aws:sourceorgpaths", "aws:resourceorgpaths"})
_IP_KEYS = frozenset({"aws:sourceip", "aws:vpcsourceip"})
# Variables naming the resource owner pin callers to it (``"aws:PrincipalAccount": "${aws:ResourceAccount}"``).
_OWNER_VARIABLES = frozenset({"${aws:resourceaccount}", "${aws:resourceorgid}", "${aws:resourceorgpaths}"})
_ACCOUNT = re.compile(r"^\d{12}$")
_ORG_PATH = re.compile(r"^o-[a-z0-9]{10,32}/")


def is_fixed(value: Any) -> bool:
    """A concrete value: not empty, no wildcard, no policy variable other than the resource owner's."""
    if isinstance(value, bool) or value is None or is_unknown(value):
        return False
    text = str(value).strip()
    if text.lower() in _OWNER_VARIABLES:
        return True
    return bool(text) and not has_wildcard(text) and "${" not in text


def _arn_pins_account(value: Any, operator_base: str) -> bool:
    """An ARN pattern that still names one account (``arn:aws:sqs:*:111122223333:*``).

    ``ArnLike`` compares the six colon-separated parts one by one, so only the account part must be literal. A
    ``StringLike`` wildcard may run across colons, so nothing before the account may be a wildcard either.
    """
    if is_fixed(value):
        return True
    if not isinstance(value, str):
        return False
    parts = value.split(":", 5)
    if len(parts) < 6 or not _ACCOUNT.match(parts[4]):
        return False
    return operator_base.startswith("arn") or not any(has_wildcard(p) for p in parts[:4])


def value_pins(key: str, value: Any, operator_base: str = "arnlike") -> bool:
    """Whether ``value`` of condition key ``key`` names one caller (account, organization, network, identity), so
    that requiring it excludes everyone else. ``operator_base`` is the matching operator, ``stringlike`` or ``arnlike``
    (which compares ARNs part by part)."""
    key = key.lower()
    if key in _ARN_KEYS:
        return _arn_pins_account(value, operator_base)
    if key in _ORG_PATH_KEYS:
        return is_fixed(value) or (isinstance(value, str) and bool(_ORG_PATH.match(literal_prefix(value))))
    if key == "aws:userid":
        # "AROAEXAMPLEID:*" is any session of one role; "AROA*" is any role.
        return is_fixed(value) or (isinstance(value, str) and ":" in literal_prefix(value)
                                   and len(literal_prefix(value).split(":", 1)[0]) > 4)
    return is_fixed(value)


def restricts(condition: Condition, keys: frozenset[str] = IDENTITY_KEYS) -> bool:
    """Whether ``condition`` narrows who may call (or, for endpoint keys, what may be reached) to something fixed."""
    if condition.key not in keys or not condition.matching or condition.unknown:
        return False
    if condition.key in _IP_KEYS:
        if condition.base != "ipaddress":
            return all(is_fixed(v) for v in condition.values)
        networks = [parse_network(str(v)) for v in condition.values]
        return all(n is not None for n in networks) and exposure(networks) is None  # type: ignore[arg-type]
    return all(value_pins(condition.key, v, condition.base) for v in condition.values)


def restricted(statement: Statement, keys: frozenset[str] = IDENTITY_KEYS) -> bool:
    """Some condition of the statement narrows who may call (the conditions of one statement all apply)."""
    return any(restricts(c, keys) for c in statement.conditions())


def _excludes_outsiders(condition: Condition, keys: frozenset[str]) -> bool:
    """A Deny condition true for everyone outside a fixed set (``StringNotEquals aws:PrincipalOrgID o-...``).

    A request without the key makes a negated operator true, with or without ``IfExists``, so it is denied too.
    """
    if condition.key not in keys or not condition.negated or condition.qualifier or condition.unknown:
        return False
    positive = _POSITIVE_OF.get(condition.base)
    return positive is not None and restricts(Condition(positive, condition.key, condition.values), keys)


def _is_everyone(statement: Statement) -> bool:
    return not statement.not_principal and "*" in statement.principal_values("*") + statement.principal_values("AWS")


def perimeter(document: Document, keys: frozenset[str] = IDENTITY_KEYS) -> list[Statement]:
    """Deny statements for every principal that apply to everyone outside a fixed set (a data perimeter): they undo
    a public Allow for the actions and resources they cover."""
    return [d for d in document.statements
            if d.denies and _is_everyone(d) and d.conditions()
            and all(_excludes_outsiders(c, keys) for c in d.conditions())]


@dataclass(frozen=True)
class Grant:
    """A finding about one statement: what it lets in, and whether that is only because a value is unknown."""

    statement: Statement
    reason: str
    unknown: bool = False

    def __str__(self) -> str:
        return f"{self.statement.label} {self.reason}"


def public_grants(document: Document, keys: frozenset[str] = IDENTITY_KEYS) -> list[Grant]:
    """Allow statements open to every principal, not narrowed by a condition and not undone by a perimeter Deny."""
    denies = perimeter(document, keys)
    found = []
    for statement in document.allow_statements():
        if statement.principal_unknown:
            found.append(Grant(statement, "names a principal unknown until the update", unknown=True))
            continue
        if not statement.public_principal or restricted(statement, keys):
            continue
        if any(statement.actions_within(d) and statement.resources_within(d) for d in denies):
            continue
        unknown = any(c.unknown for c in statement.conditions())
        who = "everyone except the principals in NotPrincipal" if statement.not_principal else "principal '*'"
        reason = f"allows {who}" + (
            " under a condition unknown until the update" if unknown
            else " under conditions that do not narrow who can call" if statement.conditions()
            else " without a condition that narrows who can call")
        found.append(Grant(statement, reason, unknown))
    return found


# --- accounts and trust ---------------------------------------------------------------------------------------

_ACCOUNT_ARN = re.compile(r"^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):")


def account_of(principal: Any) -> Optional[str]:
    """The account an AWS principal (an account ID, a root/role/user/session ARN) belongs to."""
    text = str(principal).strip()
    if _ACCOUNT.match(text):
        return text
    match = _ACCOUNT_ARN.match(text)
    return match.group(1) if match else None


def pinned_accounts(statement: Statement) -> set[str]:
    """Accounts a restricting condition limits the callers to (``aws:PrincipalAccount``, ``aws:PrincipalArn``)."""
    found: set[str] = set()
    for condition in statement.conditions():
        if not restricts(condition):
            continue
        if condition.key in ("aws:principalaccount", "kms:calleraccount"):
            found.update(str(v) for v in condition.values if _ACCOUNT.match(str(v)))
        elif condition.key == "aws:principalarn":
            found.update(p.split(":")[4] for p in map(str, condition.values) if len(p.split(":")) > 4)
    return found


def requires_fixed(statement: Statement, key: str) -> bool:
    """The statement only applies when the request carries ``key`` with one of a set of fixed values."""
    return any(c.matching and not c.unknown and all(is_fixed(v) for v in c.values)
               for c in statement.conditions_on(key))


# Issuers whose audience identifies the customer's own application, so a pinned audience pins the callers even
# without a subject (Cognito's subject is per end user; ``amr`` tells authenticated from guest identities).
AUDIENCE_PINS_CALLERS = frozenset({"cognito-identity.amazonaws.com"})
# Leading subject parts that name a kind of subject, not one subject: "system:serviceaccount:", "repo:".
_SUBJECT_KEYWORDS = frozenset({"system", "serviceaccount", "repo", "repository", "project", "organization"})


def subject_pins(value: Any) -> bool:
    """Whether a ``sub`` value names one subject or a subtree owned by one party.

    ``system:serviceaccount:ns:sa`` and ``repo:acme/api:*`` pin (a namespace, a repository owner);
    ``system:serviceaccount:*``, ``repo:*``, ``repo:acme*`` and ``*`` do not: any service account, any repository.
    """
    if is_fixed(value):
        return True
    if not isinstance(value, str):
        return False
    prefix = literal_prefix(value)
    segments = re.split(r"[:/]", prefix)
    complete = segments[:-1]  # the last segment runs into the wildcard and can be extended by anyone
    return any(s and s.lower() not in _SUBJECT_KEYWORDS for s in complete)


def issuer_of(federated: Any) -> str:
    """The issuer of a federated principal: ``token.actions.githubusercontent.com`` for
    ``arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com``; Google, Cognito as named."""
    text = str(federated)
    return text.split("oidc-provider/", 1)[1] if "oidc-provider/" in text else text


def claim_conditions(statement: Statement, claim: str, issuers: Iterable[str]) -> list[Condition]:
    """Conditions on ``<issuer>:<claim>`` for any of ``issuers`` (any issuer when none is known)."""
    wanted = {f"{i.lower()}:{claim}" for i in issuers}
    return [c for c in statement.conditions() if (c.key in wanted if wanted else c.key.endswith(f":{claim}"))]


def claim_pinned(statement: Statement, claim: str, issuers: Iterable[str]) -> bool:
    """Some matching condition on the claim admits only fixed values (for ``sub``: values ``subject_pins``)."""
    check = subject_pins if claim == "sub" else is_fixed
    return any(c.matching and not c.unknown and all(check(v) for v in c.values)
               for c in claim_conditions(statement, claim, issuers))


# --- administrator equivalence --------------------------------------------------------------------------------

ADMIN_MANAGED_POLICIES = frozenset({"administratoraccess", "iamfullaccess"})
_MANAGED_POLICY_ARN = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/(?:.*/)?(?P<name>[^/]+)$", re.IGNORECASE)


def is_admin_policy_arn(value: Any) -> bool:
    """``arn:aws:iam::aws:policy/AdministratorAccess`` or ``.../IAMFullAccess`` in any partition."""
    match = _MANAGED_POLICY_ARN.match(str(value).strip()) if isinstance(value, str) else None
    return bool(match) and match.group("name").lower() in ADMIN_MANAGED_POLICIES


def _covers_all_resources(statement: Statement) -> bool:
    """The statement applies to every resource: ``*``, ``arn:*``, ``arn:aws:*``, ``arn:aws:*:*:*:*`` (any service;
    region and account do not matter, every resource of the account is everything it owns), any ``NotResource``."""
    if statement.not_resource:
        return True
    for pattern in statement.resources():
        if is_unknown(pattern):
            return True
        if not isinstance(pattern, str):
            continue
        if any(covers(pattern, prefix) for prefix in ("", "arn:", "arn:aws:")):
            return True
        parts = pattern.split(":", 5)
        if len(parts) == 6 and parts[0] == "arn" and parts[2] == "*" and set(parts[5]) == {"*"}:
            return True
    return False


# Actions that let a principal rewrite what an identity may do: attach or write a policy, replace a policy version,
# rewrite a trust policy, join a group, or mint credentials for another user. On every identity, with no condition
# narrowing which, any of them is one step from administrator.
ESCALATION_ACTIONS = (
    "iam:AttachRolePolicy", "iam:AttachUserPolicy", "iam:AttachGroupPolicy", "iam:PutRolePolicy",
    "iam:PutUserPolicy", "iam:PutGroupPolicy", "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion",
    "iam:UpdateAssumeRolePolicy", "iam:AddUserToGroup", "iam:CreateAccessKey", "iam:CreateLoginProfile",
    "iam:UpdateLoginProfile", "iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary",
)
_IDENTITIES = ("role/", "user/", "group/", "policy/")


def admin_findings(document: Document) -> list[Grant]:
    """Allow statements equivalent to administrator access: every action (``*``, ``NotAction``) on every resource,
    every IAM action (enough to grant itself the rest), passing any role to a service, or an unconditioned
    privilege-escalation action on every identity."""
    found = []
    for s in document.allow_statements():
        if s.principals():
            continue  # a resource policy statement; what it grants is judged as a resource policy
        if (s.not_action or s.covers_all_actions()) and _covers_all_resources(s):
            what = "every action except those in NotAction" if s.not_action else "every action"
            where = "every resource except those in NotResource" if s.not_resource else "every resource"
            found.append(Grant(s, f"allows {what} on {where}"))
        elif not s.not_action and s.covers_all_actions("iam:") and _may_reach(s, "arn:aws:iam::"):
            found.append(Grant(s, "allows every IAM action (enough to grant itself anything)"))
        elif s.covers_action("iam:PassRole") and _on_every(s, ("role/",)):
            found.append(Grant(s, "allows iam:PassRole on every role (any role's permissions can be handed to a "
                                  "service it controls)"))
        elif not s.conditions() and _on_every(s, _IDENTITIES):
            escalations = [a for a in ESCALATION_ACTIONS if s.covers_action(a)]
            if escalations:
                found.append(Grant(s, f"allows {', '.join(escalations)} on every identity without a condition "
                                      "(a step from administrator access)"))
    return found


def _may_reach(statement: Statement, arn_prefix: str) -> bool:
    """Some resource the statement names could be one whose ARN starts with ``arn_prefix``."""
    if statement.not_resource:
        return True
    for pattern in statement.resources():
        if is_unknown(pattern):
            return True
        if isinstance(pattern, str):
            literal = literal_prefix(pattern)
            if literal.startswith(arn_prefix) or arn_prefix.startswith(literal):
                return True
    return False


def _on_every(statement: Statement, kinds: tuple[str, ...]) -> bool:
    """The statement applies to every IAM identity of some kind (``role/``, ``user/``, ...) of an account."""
    if statement.not_resource or _covers_all_resources(statement):
        return True
    for pattern in statement.resources():
        if isinstance(pattern, str):
            parts = pattern.split(":", 5)
            if len(parts) == 6 and parts[2] in ("iam", "*") and any(covers(parts[5], k, min_rest=1) for k in kinds):
                return True
    return False
