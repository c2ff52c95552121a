"""iam policies: role trust (wildcard, cross-account ExternalId, OIDC sub/aud) and administrator grants."""

from __future__ import annotations

import json

import pytest
from pulumi.runtime.rpc import UNKNOWN


ROLE = "aws:iam/role:Role"
CLICKHOUSE_ACCOUNT = "111122223333"
OWN_ACCOUNT = "123456789012"
ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/ABC"


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

    def test_federated_oidc_principal_alone_triggers(self, pack) -> None:
        assert len(found(pack, self.policy, trust(assume(self.federated, action="sts:AssumeRole")))) == 1

    def test_unknown_trust_policy_is_blocked(self, pack) -> None:
        assert "unknown" in found(pack, self.policy, {"assumeRolePolicy": UNKNOWN})[0]


class TestAdminPolicy:
    policy = "iam-no-admin-policy"
    admin = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    scoped = {"Effect": "Allow", "Action": ["logs:PutLogEvents"], "Resource": "*"}

    def advisories(self, pack, type_: str, props: dict) -> list[str]:
        diagnostics = pack.analyze(type_, props, policy=self.policy)
        assert all(d.level == "advisory" for d in diagnostics)
        return [d.message for d in diagnostics]

    @pytest.mark.parametrize("token", ["aws:iam/policy:Policy", "aws:iam/rolePolicy:RolePolicy"])
    def test_star_on_star_is_flagged(self, pack, token: str) -> None:
        assert self.advisories(pack, token, {"policy": pack.doc(self.scoped)}) == []
        assert len(self.advisories(pack, token, {"policy": pack.doc({**self.admin, "Action": "*:*"})})) == 1

    def test_role_inline_and_managed_admin_are_flagged(self, pack) -> None:
        props = {**trust(assume({"Service": "ec2.amazonaws.com"})),
                 "inlinePolicies": [{"name": "all", "policy": pack.doc(self.admin)}],
                 "managedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]}
        messages = self.advisories(pack, ROLE, props)
        assert len(messages) == 2 and any("inlinePolicies[0]" in m for m in messages)

    def test_admin_attachment_is_flagged(self, pack) -> None:
        attachment = {"role": "r", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}
        assert len(self.advisories(pack, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", attachment)) == 1

    def test_override_to_mandatory(self, pack) -> None:
        pack.configure({self.policy: "mandatory"})
        diagnostics = pack.analyze("aws:iam/policy:Policy", {"policy": pack.doc(self.admin)}, policy=self.policy)
        assert [d.level for d in diagnostics] == ["mandatory"]
