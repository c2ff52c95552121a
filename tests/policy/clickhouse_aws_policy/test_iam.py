"""iam policies: role trust (wildcard, cross-account ExternalId, OIDC sub/aud) and administrator grants."""

from __future__ import annotations

import json

import pytest
from pulumi.runtime.rpc import UNKNOWN


ROLE = "aws:iam/role:Role"
CLICKHOUSE_ACCOUNT = "111122223333"
OWN_ACCOUNT = "123456789012"
ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/ABC"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


def trust(*statements: dict) -> dict:
    return {"assumeRolePolicy": json.dumps({"Version": "2012-10-17", "Statement": list(statements)})}


def assume(principal: dict, condition: dict | None = None, action: str = "sts:AssumeRole") -> dict:
    statement = {"Effect": "Allow", "Principal": principal, "Action": action}
    return {**statement, "Condition": condition} if condition else statement


def found(pack, policy: str, props: dict, type_: str = ROLE, **kwargs) -> list[str]:
    """Most IAM cases judge a role, so the type comes last and defaults to one."""
    return pack.messages(policy, type_, props, **kwargs)


class TestWildcardTrust:
    policy = "iam-trust-no-wildcard-principal"

    def test_service_principal_passes(self, pack) -> None:
        assert found(pack, self.policy, trust(assume({"Service": "ec2.amazonaws.com"}))) == []

    @pytest.mark.parametrize("principal", ["*", {"AWS": "*"}, {"AWS": ["arn:aws:iam::111122223333:root", "*"]}])
    def test_wildcard_is_blocked(self, pack, principal) -> None:
        diagnostics = pack.analyze(ROLE, trust(assume(principal)), policy=self.policy)
        assert len(diagnostics) == 1 and diagnostics[0].level == "mandatory"

    def test_unknown_trust_policy_is_blocked(self, pack) -> None:
        messages = found(pack, self.policy, {"assumeRolePolicy": UNKNOWN})
        assert len(messages) == 1 and "unknown" in messages[0]


class TestWildcardSpellings:
    policy = "iam-trust-no-wildcard-principal"

    @pytest.mark.parametrize("principal", ["*", ["*"], {"AWS": ["*"]}, {"AWS": "arn:aws:iam::*:root"}])
    def test_wildcard_spellings_are_blocked(self, pack, principal) -> None:
        assert len(found(pack, self.policy, trust(assume(principal)))) == 1

    def test_not_principal_is_everyone_else(self, pack) -> None:
        statement = {"Effect": "Allow", "NotPrincipal": {"AWS": f"arn:aws:iam::{OWN_ACCOUNT}:root"},
                     "Action": "sts:AssumeRole"}
        assert len(found(pack, self.policy, trust(statement))) == 1

    @pytest.mark.parametrize("condition", [
        {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:*"}},
        {"StringLike": {"aws:PrincipalOrgID": "o-*"}},
        {"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-abcdefghij"}},
        {"ForAllValues:StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}},
        {"StringEquals": {"sts:ExternalId": "not-an-identity"}},
    ])
    def test_conditions_that_do_not_narrow_keep_it_blocked(self, pack, condition: dict) -> None:
        assert len(found(pack, self.policy, trust(assume("*", condition)))) == 1

    def test_a_narrowing_condition_pins_the_callers(self, pack) -> None:
        pinned = {"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}}
        assert found(pack, self.policy, trust(assume("*", pinned))) == []


class TestCrossAccount:
    policy = "iam-cross-account-requires-external-id"
    clickhouse = {"AWS": f"arn:aws:iam::{CLICKHOUSE_ACCOUNT}:root"}

    def test_external_id_condition_passes(self, pack) -> None:
        condition = {"StringEquals": {"sts:ExternalId": "a-long-shared-secret"}}
        assert found(pack, self.policy, trust(assume(self.clickhouse, condition))) == []

    def test_missing_external_id_is_blocked(self, pack) -> None:
        messages = found(pack, self.policy, trust(assume(self.clickhouse)))
        assert len(messages) == 1 and CLICKHOUSE_ACCOUNT in messages[0] and "sts:ExternalId" in messages[0]

    def test_wildcard_external_id_does_not_count(self, pack) -> None:
        condition = {"StringLike": {"sts:ExternalId": "*"}}
        assert len(found(pack, self.policy, trust(assume(self.clickhouse, condition)))) == 1

    @pytest.mark.parametrize("condition", [
        {"StringLike": {"sts:ExternalId": "?*"}},
        {"StringLike": {"sts:ExternalId": "????????"}},
        {"StringEqualsIfExists": {"sts:ExternalId": "a-long-shared-secret"}},
        {"ForAllValues:StringEquals": {"sts:ExternalId": "a-long-shared-secret"}},
        {"StringNotEquals": {"sts:ExternalId": "wrong"}},
        {"Null": {"sts:ExternalId": "false"}},
        {"StringEquals": {"sts:ExternalId": ["a-long-shared-secret", "*"]}},
    ])
    def test_external_id_any_value_satisfies_is_blocked(self, pack, condition: dict) -> None:
        assert len(found(pack, self.policy, trust(assume(self.clickhouse, condition)))) == 1

    @pytest.mark.parametrize("principal", [
        "arn:aws:iam::111122223333:root", "111122223333", {"AWS": ["111122223333"]},
        {"AWS": "arn:aws:iam::111122223333:role/ClickHouse"},
    ])
    def test_every_spelling_of_another_account(self, pack, principal) -> None:
        assert len(found(pack, self.policy, trust(assume(principal)))) == 1

    @pytest.mark.parametrize("action", ["sts:*", "*", "sts:AssumeRole*", "STS:assumerole"])
    def test_action_wildcards_count(self, pack, action: str) -> None:
        assert len(found(pack, self.policy, trust(assume(self.clickhouse, action=action)))) == 1

    def test_wildcard_principal_pinned_to_another_account_needs_an_external_id(self, pack) -> None:
        pinned = {"StringEquals": {"aws:PrincipalAccount": CLICKHOUSE_ACCOUNT}}
        assert len(found(pack, self.policy, trust(assume("*", pinned)))) == 1
        with_id = {**pinned, "StringEquals": {**pinned["StringEquals"], "sts:ExternalId": "a-long-shared-secret"}}
        assert found(pack, self.policy, trust(assume("*", with_id))) == []

    def test_unknown_principal_is_blocked(self, pack) -> None:
        # Only a document passed as an object (PolicyDocumentArgs) can hold an unknown; JSON text is wholly unknown.
        document = {"Version": "2012-10-17", "Statement": [assume({"AWS": UNKNOWN})]}
        messages = found(pack, self.policy, {"assumeRolePolicy": document})
        assert len(messages) == 1 and "unknown" in messages[0]

    def test_service_principals_are_not_accounts(self, pack) -> None:
        assert found(pack, self.policy, trust(assume({"Service": "vpc-flow-logs.amazonaws.com"}))) == []

    def test_own_account_counts_as_cross_account_until_known(self, pack) -> None:
        own = trust(assume({"AWS": f"arn:aws:iam::{OWN_ACCOUNT}:role/admin"}))
        assert len(found(pack, self.policy, own)) == 1
        pack.configure({self.policy: {"stackAccountIds": [OWN_ACCOUNT]}})
        assert found(pack, self.policy, own) == []
        assert len(found(pack, self.policy, trust(assume(self.clickhouse)))) == 1

    def test_provider_allowed_account_ids_name_the_own_account(self, pack) -> None:
        # Provider inputs that are not strings arrive JSON-encoded.
        provider = {**pack.default_aws, "props": {"region": "us-east-1", "allowedAccountIds": f'["{OWN_ACCOUNT}"]'}}
        assert found(pack, self.policy, trust(assume({"AWS": OWN_ACCOUNT})), provider=provider) == []


class TestOidc:
    policy = "iam-oidc-trust-requires-sub-aud"
    federated = {"Federated": f"arn:aws:iam::{OWN_ACCOUNT}:oidc-provider/{ISSUER}"}
    web_identity = "sts:AssumeRoleWithWebIdentity"

    def test_sub_and_aud_pass(self, pack) -> None:
        condition = {"StringEquals": {f"{ISSUER}:sub": "system:serviceaccount:ns:sa",
                                      f"{ISSUER}:aud": "sts.amazonaws.com"}}
        assert found(pack, self.policy, trust(assume(self.federated, condition, self.web_identity))) == []

    @pytest.mark.parametrize("condition,missing", [
        (None, "sub and aud"),
        ({"StringEquals": {f"{ISSUER}:sub": "system:serviceaccount:ns:sa"}}, "aud"),
        ({"StringLike": {f"{ISSUER}:sub": "*"}, "StringEquals": {f"{ISSUER}:aud": "sts.amazonaws.com"}}, "sub"),
    ])
    def test_unpinned_web_identity_is_blocked(self, pack, condition, missing: str) -> None:
        messages = found(pack, self.policy, trust(assume(self.federated, condition, self.web_identity)))
        assert len(messages) == 1 and messages[0].endswith(f"token's {missing}.")

    @pytest.mark.parametrize("issuer,sub", [
        ("token.actions.githubusercontent.com", "repo:*"),
        ("token.actions.githubusercontent.com", "repo:acme*"),
        ("token.actions.githubusercontent.com", "*"),
        (ISSUER, "system:serviceaccount:*"),
        (ISSUER, "system:serviceaccount:*:*"),
        ("accounts.google.com", "?*"),
    ])
    def test_subjects_a_wildcard_makes_meaningless(self, pack, issuer: str, sub: str) -> None:
        federated = {"Federated": f"arn:aws:iam::{OWN_ACCOUNT}:oidc-provider/{issuer}"}
        condition = {"StringLike": {f"{issuer}:sub": sub}, "StringEquals": {f"{issuer}:aud": "sts.amazonaws.com"}}
        messages = found(pack, self.policy, trust(assume(federated, condition, self.web_identity)))
        assert len(messages) == 1 and messages[0].endswith("token's sub.")

    @pytest.mark.parametrize("federated", [
        {"Federated": "accounts.google.com"}, {"Federated": "cognito-identity.amazonaws.com"},
        {"Federated": "graph.facebook.com"},
        {"Federated": f"arn:aws:iam::{OWN_ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"},
    ])
    def test_any_federated_provider_without_conditions_is_blocked(self, pack, federated: dict) -> None:
        assert len(found(pack, self.policy, trust(assume(federated, action=self.web_identity)))) == 1

    @pytest.mark.parametrize("action", ["sts:AssumeRoleWith*", "sts:*", "*"])
    def test_web_identity_action_wildcards_count(self, pack, action: str) -> None:
        assert len(found(pack, self.policy, trust(assume(self.federated, action=action)))) == 1

    def test_pinned_github_and_cognito_trusts_pass(self, pack) -> None:
        github = "token.actions.githubusercontent.com"
        condition = {"StringEquals": {f"{github}:aud": "sts.amazonaws.com"},
                     "StringLike": {f"{github}:sub": "repo:acme/api:ref:refs/heads/main"}}
        federated = {"Federated": f"arn:aws:iam::{OWN_ACCOUNT}:oidc-provider/{github}"}
        assert found(pack, self.policy, trust(assume(federated, condition, self.web_identity))) == []
        cognito = {"StringEquals": {"cognito-identity.amazonaws.com:aud": "us-east-1:12345678-aaaa-bbbb-cccc-1234"},
                   "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "authenticated"}}
        pool = {"Federated": "cognito-identity.amazonaws.com"}
        assert found(pack, self.policy, trust(assume(pool, cognito, self.web_identity))) == []

    def test_saml_trusts_are_not_web_identities(self, pack) -> None:
        saml = {"Federated": f"arn:aws:iam::{OWN_ACCOUNT}:saml-provider/corp"}
        condition = {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}
        assert found(pack, self.policy, trust(assume(saml, condition, "sts:AssumeRoleWithSAML"))) == []

    def test_federated_oidc_principal_alone_triggers(self, pack) -> None:
        assert len(found(pack, self.policy, trust(assume(self.federated, action="sts:AssumeRole")))) == 1

    def test_unknown_trust_policy_is_blocked(self, pack) -> None:
        assert "unknown" in found(pack, self.policy, {"assumeRolePolicy": UNKNOWN})[0]


class TestAdminPolicy:
    policy = "iam-no-admin-policy"
    admin = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    scoped = {"Effect": "Allow", "Action": ["logs:PutLogEvents"], "Resource": "*"}

    def flagged(self, pack, type_: str, props: dict) -> list[str]:
        return pack.blocking(self.policy, type_, props)

    @pytest.mark.parametrize("token", ["aws:iam/policy:Policy", "aws:iam/rolePolicy:RolePolicy"])
    def test_star_on_star_is_flagged(self, pack, token: str) -> None:
        assert self.flagged(pack, token, {"policy": pack.doc(self.scoped)}) == []
        assert len(self.flagged(pack, token, {"policy": pack.doc({**self.admin, "Action": "*:*"})})) == 1

    def test_role_inline_and_managed_admin_are_flagged(self, pack) -> None:
        props = {**trust(assume({"Service": "ec2.amazonaws.com"})),
                 "inlinePolicies": [{"name": "all", "policy": pack.doc(self.admin)}],
                 "managedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]}
        messages = self.flagged(pack, ROLE, props)
        assert len(messages) == 2 and any("inlinePolicies[0]" in m for m in messages)

    def test_admin_attachment_is_flagged(self, pack) -> None:
        attachment = {"role": "r", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}
        assert len(self.flagged(pack, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", attachment)) == 1

    @pytest.mark.parametrize("statement", [
        {"Effect": "Allow", "Action": "iam:*", "Resource": "*"},
        {"Effect": "Allow", "Action": "*", "Resource": "arn:aws:*:*:*:*"},
        {"Effect": "Allow", "Action": "*", "NotResource": "arn:aws:s3:::logs/*"},
        {"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"},
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"},
    ])
    def test_admin_equivalents_are_flagged(self, pack, statement: dict) -> None:
        assert len(self.flagged(pack, "aws:iam/policy:Policy", {"policy": pack.doc(statement)})) == 1

    @pytest.mark.parametrize("token,props", [
        ("aws:iam/userPolicyAttachment:UserPolicyAttachment", {"user": "u", "policyArn": ADMIN}),
        ("aws:iam/groupPolicyAttachment:GroupPolicyAttachment", {"group": "g", "policyArn": ADMIN}),
        ("aws:iam/policyAttachment:PolicyAttachment", {"roles": ["r"], "policyArn": ADMIN}),
        ("aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive",
         {"roleName": "r", "policyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess", ADMIN]}),
        ("aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive", {"userName": "u", "policyArns": [
            "arn:aws:iam::aws:policy/IAMFullAccess"]}),
        ("aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive", {"groupName": "g",
                                                                                   "policyArns": [ADMIN]}),
        ("aws:ssoadmin/managedPolicyAttachment:ManagedPolicyAttachment", {"managedPolicyArn": ADMIN}),
        ("aws:iam/groupPolicy:GroupPolicy", {"group": "g", "policy": '{"Statement": {"Effect": "Allow", '
                                                                      '"Action": "*", "Resource": "*"}}'}),
    ])
    def test_every_attachment_resource_is_judged(self, pack, token: str, props: dict) -> None:
        assert len(self.flagged(pack, token, props)) == 1

    def test_a_permissions_boundary_grants_nothing(self, pack) -> None:
        props = {**trust(assume({"Service": "ec2.amazonaws.com"})), "permissionsBoundary": ADMIN}
        assert self.flagged(pack, ROLE, props) == []

    def test_admin_arns_inside_a_deny_condition_are_not_attachments(self, pack) -> None:
        deny = {"Effect": "Deny", "Action": "iam:AttachRolePolicy", "Resource": "*",
                "Condition": {"ArnEquals": {"iam:PolicyARN": [ADMIN]}}}
        assert self.flagged(pack, "aws:iam/policy:Policy", {"policy": {"Statement": [deny]}}) == []

    def test_a_stack_may_lower_it_to_advisory(self, pack) -> None:
        pack.configure({self.policy: "advisory"})
        diagnostics = pack.analyze("aws:iam/policy:Policy", {"policy": pack.doc(self.admin)}, policy=self.policy)
        assert [d.level for d in diagnostics] == ["advisory"]
