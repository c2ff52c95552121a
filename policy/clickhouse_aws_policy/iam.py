"""Who may assume the stack's roles, and how much the stack's policies grant.

Trust policies are judged statement by statement: no ``*`` principal; a principal from another AWS account only with an
``sts:ExternalId`` condition (the confused-deputy guard ClickHouse BYOC relies on); a web-identity (OIDC) principal only
with conditions on both the token's ``sub`` and ``aud``.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Iterable, Mapping

from pulumi_policy import PolicyConfigSchema, Severity

from .helpers import (
    Check,
    actions,
    allows,
    as_list,
    check_document,
    condition_values,
    covers_action,
    dig,
    is_public,
    is_unknown,
    narrows,
    principals,
    resource_policy,
    stack_config,
    statements,
)

ROLE = "aws:iam/role:Role"
_ACCOUNT_RE = re.compile(r"^(\d{12})$|^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):")


def _label(statement: Mapping[str, Any], index: int) -> str:
    return f"statement {statement.get('Sid') or index}"


def _trust_wildcard(document: Mapping[str, Any]) -> list[str]:
    return [f"{_label(s, i)} lets any principal ('*') assume the role"
            for i, s in enumerate(statements(document)) if allows(s) and is_public(s)]


def _trust(judge: Callable[[Mapping[str, Any]], list[str]]) -> Callable[[Check], None]:
    """A validator applying ``judge`` to a role's trust policy."""
    return lambda check: check_document(check.report, check.props.get("assumeRolePolicy"), judge, "The trust policy")


iam_trust_no_wildcard_principal = resource_policy(
    "iam-trust-no-wildcard-principal",
    "Role trust policies never let '*' assume the role.",
    Severity.CRITICAL,
    _trust(_trust_wildcard),
    types=[ROLE],
)


def _account_ids(values: Iterable[Any]) -> set[str]:
    """Account IDs from a list that may hold IDs, JSON text of a list (provider inputs), or other values."""
    found: set[str] = set()
    for value in values:
        if isinstance(value, str) and value.startswith("["):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                continue
        for item in as_list(value):
            if isinstance(item, str) and re.fullmatch(r"\d{12}", item):
                found.add(item)
    return found


def stack_accounts(check: Check) -> set[str]:
    """The stack's own accounts: the policy config's ``stackAccountIds``, the AWS provider's ``allowedAccountIds``."""
    return _account_ids([
        check.config.get("stackAccountIds") or [],
        check.resource.provider_props.get("allowedAccountIds"),
        stack_config("aws:allowedAccountIds"),
    ])


def _cross_account(check: Check):
    own = stack_accounts(check)

    def judge(document: Mapping[str, Any]) -> list[str]:
        findings = []
        for index, statement in enumerate(statements(document)):
            if not allows(statement) or not covers_action(statement, "sts:AssumeRole"):
                continue
            foreign, unknown = set(), False
            for principal in principals(statement).get("AWS", []):
                if is_unknown(principal):
                    unknown = True
                    continue
                match = _ACCOUNT_RE.match(str(principal))
                account = match and (match.group(1) or match.group(2))
                # With the stack's account unknown, every account principal counts as another account's.
                if account and account not in own:
                    foreign.add(account)
            if not (foreign or unknown):
                continue
            if narrows(condition_values(statement, lambda key: key == "sts:externalid")):
                continue
            who = f"account {', '.join(sorted(foreign))}" if foreign else "an AWS principal unknown until the update"
            findings.append(f"{_label(statement, index)} lets {who} assume the role without an sts:ExternalId "
                            "condition")
        return findings

    _trust(judge)(check)


iam_cross_account_requires_external_id = resource_policy(
    "iam-cross-account-requires-external-id",
    "Roles another AWS account may assume require an sts:ExternalId condition.",
    Severity.HIGH,
    _cross_account,
    types=[ROLE],
    config_schema=PolicyConfigSchema(properties={
        "stackAccountIds": {
            "type": "array",
            "items": {"type": "string", "pattern": "^[0-9]{12}$"},
            "description": "The stack's own AWS account IDs; principals in them are not cross-account.",
            "default": [],
        },
    }),
)


def _oidc(document: Mapping[str, Any]) -> list[str]:
    findings = []
    for index, statement in enumerate(statements(document)):
        if not allows(statement):
            continue
        federated = principals(statement).get("Federated", [])
        web_identity = "sts:assumerolewithwebidentity" in [str(a).lower() for a in actions(statement)]
        if not web_identity and not any(is_unknown(f) or "oidc-provider/" in str(f) for f in federated):
            continue
        missing = [claim for claim in ("sub", "aud")
                   if not narrows(condition_values(statement, lambda key, c=claim: key.endswith(f":{c}")))]
        if missing:
            findings.append(f"{_label(statement, index)} trusts a web identity without a condition on the token's "
                            f"{' and '.join(missing)}")
    return findings


iam_oidc_trust_requires_sub_aud = resource_policy(
    "iam-oidc-trust-requires-sub-aud",
    "OIDC (web identity) trusts pin both the token's sub and aud.",
    Severity.HIGH,
    _trust(_oidc),
    types=[ROLE],
)

_ADMIN_POLICY_ARN = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/AdministratorAccess$")


def _admin_statements(document: Mapping[str, Any]) -> list[str]:
    return [f"{_label(s, i)} allows every action on every resource"
            for i, s in enumerate(statements(document))
            if allows(s) and covers_action(s, "*:*") and "*" in as_list(s.get("Resource"))]


def _admin(check: Check) -> None:
    rtype = check.resource.type
    if rtype == ROLE:
        inline = check.props.get("inlinePolicies")
        for index, policy in enumerate(inline if isinstance(inline, list) else []):
            check_document(check.report, dig(policy, "policy"), _admin_statements, f"inlinePolicies[{index}]")
        arns = check.props.get("managedPolicyArns")
        attached = arns if isinstance(arns, list) else []
    elif rtype.endswith("PolicyAttachment"):
        attached = [check.props.get("policyArn")]
    else:
        check_document(check.report, check.props.get("policy"), _admin_statements, "The policy")
        attached = []
    for arn in attached:
        if isinstance(arn, str) and _ADMIN_POLICY_ARN.match(arn):
            check.report(f"{arn} is attached.")


iam_no_admin_policy = resource_policy(
    "iam-no-admin-policy",
    "IAM policies do not grant '*' on '*' (administrator access).",
    Severity.MEDIUM,
    _admin,
    types=[
        ROLE,
        "aws:iam/policy:Policy",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:iam/userPolicy:UserPolicy",
        "aws:iam/groupPolicy:GroupPolicy",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "aws:iam/userPolicyAttachment:UserPolicyAttachment",
        "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
        "aws:iam/policyAttachment:PolicyAttachment",
    ],
    advisory=True,
)

POLICIES = [
    iam_trust_no_wildcard_principal,
    iam_cross_account_requires_external_id,
    iam_oidc_trust_requires_sub_aud,
    iam_no_admin_policy,
]
