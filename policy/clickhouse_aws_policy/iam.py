"""Who may assume the stack's roles, and how much the stack's identity policies grant.

Trust policies go through the same evaluator as resource policies (``evaluation.iam_documents``), statement by
statement:

* nobody may assume a role as ``*`` (in any spelling) unless a condition narrows the callers to fixed identities;
* another AWS account may assume a role only under an ``sts:ExternalId`` condition that some value fails (no
  wildcard, no ``IfExists``, no ``ForAllValues``, not negated) — the confused-deputy guard ClickHouse BYOC relies on;
* a web identity (any federated provider: EKS OIDC, GitHub Actions, Google, Cognito, ... or any action matching
  ``sts:AssumeRoleWithWebIdentity``) only with the token's audience pinned and its subject pinned to one subject or a
  subtree one party owns (Cognito: the identity pool audience alone).
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Iterable

from pulumi_policy import PolicyConfigSchema, Severity

from .evaluation.iam_documents import (
    AUDIENCE_PINS_CALLERS,
    Document,
    Statement,
    account_of,
    admin_findings,
    claim_pinned,
    is_admin_policy_arn,
    issuer_of,
    looks_like_document,
    pinned_accounts,
    public_grants,
    requires_fixed,
)
from .framework import Check, parse_or_report, resource_policy, stack_config
from .values import as_list, is_unknown, walk

ROLE = "aws:iam/role:Role"
ASSUME_ACTIONS = ("sts:AssumeRole", "sts:AssumeRoleWithWebIdentity", "sts:AssumeRoleWithSAML")


def _assumes(statement: Statement) -> bool:
    return statement.allows and any(statement.covers_action(a) for a in ASSUME_ACTIONS)


def _trust(judge: Callable[[Check, Document], Iterable[str]]) -> Callable[[Check], None]:
    """A validator applying ``judge`` to a role's trust policy."""
    def validate(check: Check) -> None:
        document = parse_or_report(check.report, check.props.get("assumeRolePolicy"), "The trust policy")
        for finding in judge(check, document) if document else ():
            check.report(f"The trust policy: {finding}.")
    return validate


def _wildcard(_: Check, document: Document) -> list[str]:
    return [f"{grant}; anyone could assume the role" for grant in public_grants(document) if _assumes(grant.statement)]


iam_trust_no_wildcard_principal = resource_policy(
    "iam-trust-no-wildcard-principal",
    "Role trust policies never let '*' (any spelling) assume the role unless a condition pins the callers.",
    Severity.CRITICAL,
    _trust(_wildcard),
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


def _callers(statement: Statement) -> tuple[set[str], bool]:
    """Accounts whose principals the statement lets in, and whether some principal is unknown."""
    accounts, unknown = set(), False
    for principal in statement.principal_values("AWS") + statement.principal_values("*"):
        if is_unknown(principal):
            unknown = True
        elif principal == "*" or (isinstance(principal, str) and "*" in principal):
            accounts |= pinned_accounts(statement)
        else:
            account = account_of(principal)
            if account:
                accounts.add(account)
    return accounts, unknown


def _cross_account(check: Check, document: Document) -> list[str]:
    own = stack_accounts(check)
    findings = []
    for statement in document.statements:
        if not statement.allows or not statement.covers_action("sts:AssumeRole"):
            continue
        accounts, unknown = _callers(statement)
        # With the stack's account unknown, every account principal counts as another account's.
        foreign = accounts - own
        if not (foreign or unknown) or requires_fixed(statement, "sts:ExternalId"):
            continue
        who = f"account {', '.join(sorted(foreign))}" if foreign else "an AWS principal unknown until the update"
        findings.append(f"{statement.label} lets {who} assume the role without an sts:ExternalId condition that "
                        "only the expected value satisfies")
    return findings


iam_cross_account_requires_external_id = resource_policy(
    "iam-cross-account-requires-external-id",
    "Roles another AWS account may assume require an sts:ExternalId condition no other value satisfies.",
    Severity.HIGH,
    _trust(_cross_account),
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


def _is_web_identity(statement: Statement) -> bool:
    if not statement.allows:
        return False
    federated = statement.principal_values("Federated")
    saml_only = federated and all(isinstance(f, str) and ":saml-provider/" in f for f in federated)
    web_action = statement.covers_action("sts:AssumeRoleWithWebIdentity")
    return bool(federated and not saml_only) or (web_action and (bool(federated) or statement.public_principal))


def _web_identity(_: Check, document: Document) -> list[str]:
    findings = []
    for statement in document.statements:
        if not _is_web_identity(statement):
            continue
        federated = statement.principal_values("Federated")
        if any(is_unknown(f) for f in federated):
            findings.append(f"{statement.label} trusts a federated provider unknown until the update")
            continue
        issuers = {issuer_of(f) for f in federated if isinstance(f, str) and "*" not in f}
        claims = ["aud"] if issuers and issuers <= AUDIENCE_PINS_CALLERS else ["sub", "aud"]
        missing = [c for c in claims if not claim_pinned(statement, c, issuers)]
        if missing:
            findings.append(f"{statement.label} trusts a web identity "
                            f"({', '.join(sorted(issuers)) or 'any provider'}) without a condition pinning the "
                            f"token's {' and '.join(missing)}")
    return findings


iam_oidc_trust_requires_sub_aud = resource_policy(
    "iam-oidc-trust-requires-sub-aud",
    "Web identity trusts (any OIDC provider) pin the token's audience and subject.",
    Severity.HIGH,
    _trust(_web_identity),
    types=[ROLE],
)

# Where identity policies live: every IAM and IAM Identity Center resource. Unknown documents are reported only
# under these inputs; an unknown policy ARN is one this stack creates, which is judged itself.
IDENTITY_POLICY_INPUTS = {
    "aws:iam/policy:Policy": "policy",
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/userPolicy:UserPolicy": "policy",
    "aws:iam/groupPolicy:GroupPolicy": "policy",
    "aws:ssoadmin/permissionSetInlinePolicy:PermissionSetInlinePolicy": "inlinePolicy",
}
# A permissions boundary caps what a role may do; AdministratorAccess there grants nothing.
_NOT_GRANTS = frozenset({"assumeRolePolicy", "permissionsBoundary"})


def _admin(check: Check) -> None:
    declared = IDENTITY_POLICY_INPUTS.get(check.resource.type)
    if declared and is_unknown(check.props.get(declared)):
        parse_or_report(check.report, check.props.get(declared), "The policy")
    for path, key, value in walk(check.props, prune=looks_like_document):
        if key in _NOT_GRANTS or path.split(".", 1)[0] in _NOT_GRANTS:
            continue
        if isinstance(value, str) and is_admin_policy_arn(value):
            check.report(f"{path} attaches {value.strip()}.")
        elif looks_like_document(value):
            document = parse_or_report(check.report, value, path)
            for grant in admin_findings(document) if document else ():
                check.report(f"{path}: {grant}.")


iam_no_admin_policy = resource_policy(
    "iam-no-admin-policy",
    "IAM policies and attachments grant nothing equivalent to administrator access.",
    Severity.MEDIUM,
    _admin,
    type_prefixes=("aws:iam/", "aws:ssoadmin/"),
)

POLICIES = [
    iam_trust_no_wildcard_principal,
    iam_cross_account_requires_external_id,
    iam_oidc_trust_requires_sub_aud,
    iam_no_admin_policy,
]
