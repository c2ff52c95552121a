"""The IAM document evaluator: parsing every spelling, and which conditions narrow who can call, by operator."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy.clickhouse_aws_policy.evaluation.iam_documents import (
    ENDPOINT_KEYS,
    Condition,
    DocumentError,
    account_of,
    admin_findings,
    claim_pinned,
    is_admin_policy_arn,
    parse,
    pinned_accounts,
    public_grants,
    requires_fixed,
    restricts,
    subject_pins,
)
from policy.clickhouse_aws_policy.values import UNKNOWN

ACCOUNT = "111122223333"
READ = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}


def doc(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def statement(**fields) -> object:
    return parse(doc({**READ, **fields})).statements[0]


def public(*statements: dict) -> list[str]:
    return [str(g) for g in public_grants(parse(doc(*statements)))]


class TestParse:
    def test_text_and_object_and_single_statement(self) -> None:
        as_text = parse(json.dumps(doc(READ)))
        as_object = parse({"Statement": READ})
        assert len(as_text.statements) == len(as_object.statements) == 1
        assert as_object.statements[0].covers_action("s3:getobject")

    @pytest.mark.parametrize("value", [None, "", {}])
    def test_absent(self, value) -> None:
        assert parse(value) is None

    @pytest.mark.parametrize("value", [UNKNOWN, {"Statement": UNKNOWN}, {"Statement": [UNKNOWN]}])
    def test_unknown(self, value) -> None:
        assert parse(value) is UNKNOWN

    @pytest.mark.parametrize("value,text", [("{not json", "not valid JSON"), ("[]", "not a JSON object")])
    def test_broken(self, value, text: str) -> None:
        with pytest.raises(DocumentError, match=text):
            parse(value)

    @pytest.mark.parametrize("principal", [
        "*", {"AWS": "*"}, {"AWS": ["*"]}, ["*"], {"AWS": [f"arn:aws:iam::{ACCOUNT}:root", "*"]},
        {"AWS": "arn:aws:iam::*:root"}, {"Federated": "*"}, {"CanonicalUser": "*"},
    ])
    def test_every_spelling_of_everyone(self, principal) -> None:
        assert statement(Principal=principal).public_principal

    @pytest.mark.parametrize("principal", [
        f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT, {"AWS": ACCOUNT}, {"Service": "logs.amazonaws.com"},
    ])
    def test_named_principals_are_not_everyone(self, principal) -> None:
        assert not statement(Principal=principal).public_principal

    def test_bare_string_principal_is_an_aws_principal(self) -> None:
        assert statement(Principal=f"arn:aws:iam::{ACCOUNT}:root").principal_values("AWS") == [
            f"arn:aws:iam::{ACCOUNT}:root"]

    def test_not_principal_on_allow_is_everyone_else(self) -> None:
        assert statement(NotPrincipal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"}).public_principal
        assert not statement(Effect="Deny", NotPrincipal={"AWS": ACCOUNT}).public_principal

    @pytest.mark.parametrize("fields,action,expected", [
        ({"Action": "S3:GET*"}, "s3:GetObject", True),
        ({"Action": ["sqs:*", "s3:Get?bject"]}, "s3:GetObject", True),
        ({"Action": "s3:Put*"}, "s3:GetObject", False),
        ({"Action": None, "NotAction": "s3:Put*"}, "s3:GetObject", True),
        ({"Action": None, "NotAction": "s3:*"}, "s3:GetObject", False),
    ])
    def test_actions(self, fields: dict, action: str, expected: bool) -> None:
        raw = {**READ, **fields}
        raw = {k: v for k, v in raw.items() if v is not None}
        assert parse(doc(raw)).statements[0].covers_action(action) is expected

    def test_condition_operators_are_split(self) -> None:
        block = {"ForAllValues:StringLikeIfExists": {"AWS:SourceVpce": "vpce-1"}}
        [condition] = statement(Condition=block).conditions()
        assert (condition.qualifier, condition.base, condition.if_exists, condition.key) == (
            "forallvalues", "stringlike", True, "aws:sourcevpce")


def cond(operator: str, key: str, *values) -> Condition:
    return Condition(operator, key.lower(), tuple(values))


class TestWhoCanCall:
    """restricts(): a condition narrows the callers only if some caller fails it."""

    @pytest.mark.parametrize("condition", [
        cond("StringEquals", "aws:PrincipalOrgID", "o-abcdefghij"),
        cond("StringEqualsIgnoreCase", "aws:PrincipalAccount", ACCOUNT),
        cond("StringEquals", "aws:SourceVpce", "vpce-0abc", "vpce-0def"),
        cond("ForAnyValue:StringEquals", "aws:SourceVpc", "vpc-1"),
        cond("StringLike", "aws:PrincipalArn", f"arn:aws:iam::{ACCOUNT}:role/app-*"),
        cond("ArnLike", "aws:SourceArn", f"arn:aws:sns:*:{ACCOUNT}:*"),
        cond("ArnEquals", "aws:SourceArn", f"arn:aws:sns:us-east-1:{ACCOUNT}:alarms"),
        cond("StringLike", "aws:PrincipalOrgPaths", "o-abcdefghij/r-ab12/ou-ab12-11111111/*"),
        cond("StringLike", "aws:userid", "AROAEXAMPLEID:*"),
        cond("StringEquals", "aws:PrincipalAccount", "${aws:ResourceAccount}"),
        cond("StringEquals", "kms:CallerAccount", ACCOUNT),
        cond("IpAddress", "aws:SourceIp", "203.0.113.0/24", "198.51.100.7"),
        cond("IpAddress", "aws:SourceIp", "10.0.0.0/8"),
        cond("stringequals", "AWS:PRINCIPALACCOUNT", ACCOUNT),  # operators and keys in any case
    ])
    def test_narrowing_conditions(self, condition: Condition) -> None:
        assert restricts(condition)

    @pytest.mark.parametrize("condition", [
        cond("StringLike", "aws:PrincipalAccount", "*"),
        cond("StringLike", "aws:PrincipalAccount", "????????????"),
        cond("StringLike", "aws:PrincipalOrgID", "o-*"),
        cond("StringLike", "aws:SourceVpce", "?*"),
        cond("StringEquals", "aws:PrincipalAccount", "*"),
        cond("StringEquals", "aws:PrincipalAccount", ACCOUNT, "*"),  # one value any caller has is enough
        cond("ArnLike", "aws:PrincipalArn", "arn:aws:iam::*:*"),
        cond("ArnLike", "aws:PrincipalArn", "arn:aws:iam::*:role/admin"),
        cond("StringLike", "aws:SourceArn", f"arn:aws:*:{ACCOUNT}:*"),  # '*' may run across colons
        cond("StringLike", "aws:PrincipalOrgPaths", "o-*/r-ab12/*"),
        cond("StringLike", "aws:userid", "AROA*"),
        cond("StringEquals", "aws:PrincipalAccount", "${aws:username}"),
        cond("StringNotEquals", "aws:PrincipalAccount", ACCOUNT),
        cond("ArnNotLike", "aws:PrincipalArn", f"arn:aws:iam::{ACCOUNT}:*"),
        cond("NotIpAddress", "aws:SourceIp", "10.0.0.0/8"),
        cond("StringEqualsIfExists", "aws:SourceVpce", "vpce-1"),
        cond("ForAllValues:StringEquals", "aws:PrincipalOrgID", "o-abcdefghij"),
        cond("Null", "aws:PrincipalOrgID", "false"),
        cond("Bool", "aws:PrincipalIsAWSService", "true"),
        cond("IpAddress", "aws:SourceIp", "0.0.0.0/0"),
        cond("IpAddress", "aws:SourceIp", "0.0.0.0/1", "128.0.0.0/1"),
        cond("IpAddress", "aws:SourceIp", "1.0.0.0/8"),
        cond("IpAddress", "aws:SourceIp", "::/0"),
        cond("IpAddress", "aws:SourceIp", "office"),
        cond("StringLike", "aws:SourceIp", "*"),
        cond("Bool", "aws:SecureTransport", "true"),
        cond("StringEquals", "kms:ViaService", "s3.us-east-1.amazonaws.com"),
        cond("StringEquals", "aws:PrincipalAccount", UNKNOWN),
        cond("StringEquals", "aws:PrincipalAccount", ""),
        cond("StringEquals", "aws:ResourceAccount", ACCOUNT),  # what may be reached, not who calls
    ])
    def test_conditions_that_do_not_narrow(self, condition: Condition) -> None:
        assert not restricts(condition)

    def test_endpoint_policies_may_pin_the_resources_reached(self) -> None:
        assert restricts(cond("StringEquals", "aws:ResourceAccount", ACCOUNT), ENDPOINT_KEYS)

    @given(st.sampled_from(["StringNotEquals", "StringNotLike", "ArnNotEquals", "ArnNotLike",
                            "StringEqualsIfExists", "ArnLikeIfExists", "ForAllValues:StringEquals",
                            "ForAllValues:ArnLike", "Null", "Bool"]),
           st.sampled_from(["aws:PrincipalAccount", "aws:PrincipalOrgID", "aws:SourceVpce", "aws:PrincipalArn"]),
           st.lists(st.sampled_from([ACCOUNT, "o-abcdefghij", "vpce-1", f"arn:aws:iam::{ACCOUNT}:root"]),
                    min_size=1, max_size=3))
    def test_operators_that_an_anonymous_request_passes_never_narrow(self, operator, key, values) -> None:
        assert not restricts(cond(operator, key, *values))

    @given(st.sampled_from(["aws:PrincipalAccount", "aws:PrincipalOrgID", "aws:SourceVpce", "aws:SourceAccount"]),
           st.lists(st.text(alphabet="0123456789abcdefo-", min_size=1, max_size=14), min_size=1, max_size=3),
           st.text(alphabet="*?", min_size=1, max_size=4))
    def test_a_value_any_caller_satisfies_undoes_the_others(self, key, values, wildcard) -> None:
        """Values of one key are alternatives: adding a pure wildcard lets everyone through."""
        assert not restricts(cond("StringLike", key, *values, wildcard))

    @given(st.lists(st.integers(0, 2**24 - 1), min_size=1, max_size=8), st.booleans())
    def test_source_ip_sets_restrict_until_they_cover_the_internet(self, blocks, add_halves) -> None:
        """Up to eight /24s never reach one /16 of public addresses; adding both halves of the internet does."""
        cidrs = [f"{b >> 16}.{(b >> 8) & 255}.{b & 255}.0/24" for b in blocks]
        if add_halves:
            cidrs += ["0.0.0.0/1", "128.0.0.0/1"]
        assert restricts(cond("IpAddress", "aws:SourceIp", *cidrs)) is not add_halves


class TestPublicGrants:
    def test_public_and_restricted(self) -> None:
        assert public(dict(READ, Principal="*"))
        assert public(dict(READ, Principal={"AWS": "*"}, Condition={"Bool": {"aws:SecureTransport": "true"}}))
        assert not public(dict(READ, Principal="*", Condition={"StringEquals": {"aws:SourceVpce": "vpce-1"}}))
        assert not public(dict(READ, Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"}))

    def test_one_narrowing_condition_among_others_is_enough(self) -> None:
        assert not public(dict(READ, Principal="*", Condition={
            "Bool": {"aws:SecureTransport": "true"}, "StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}}))

    def test_deny_statements_are_not_grants(self) -> None:
        assert not public(dict(READ, Effect="Deny", Principal="*"))

    def test_a_perimeter_deny_undoes_a_public_allow(self) -> None:
        allow = dict(READ, Principal="*")
        perimeter = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": ["arn:aws:s3:::b/*"],
                     "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-abcdefghij"}}}
        assert not public(allow, perimeter)
        # A perimeter that also needs another condition, or misses the action, does not.
        assert public(allow, {**perimeter, "Condition": {**perimeter["Condition"],
                                                         "Bool": {"aws:SecureTransport": "false"}}})
        assert public(allow, {**perimeter, "Action": "s3:PutObject"})
        assert public(allow, {**perimeter, "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-*"}}})

    def test_unknown_principal_or_condition_is_reported_as_unknown(self) -> None:
        [grant] = public_grants(parse(doc(dict(READ, Principal={"AWS": UNKNOWN}))))
        assert grant.unknown
        [grant] = public_grants(parse(doc(dict(READ, Principal="*",
                                               Condition={"StringEquals": {"aws:SourceVpce": UNKNOWN}}))))
        assert grant.unknown


class TestTrust:
    @pytest.mark.parametrize("principal,account", [
        (ACCOUNT, ACCOUNT), (f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT),
        (f"arn:aws-cn:iam::{ACCOUNT}:role/x", ACCOUNT), (f"arn:aws:sts::{ACCOUNT}:assumed-role/r/s", ACCOUNT),
        ("ec2.amazonaws.com", None), ("*", None),
    ])
    def test_account_of(self, principal: str, account) -> None:
        assert account_of(principal) == account

    def test_pinned_accounts(self) -> None:
        s = statement(Principal="*", Condition={"StringEquals": {"aws:PrincipalAccount": ACCOUNT}})
        assert pinned_accounts(s) == {ACCOUNT}
        s = statement(Principal="*", Condition={"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/*"}})
        assert pinned_accounts(s) == {ACCOUNT}

    @pytest.mark.parametrize("condition,expected", [
        ({"StringEquals": {"sts:ExternalId": "a-long-shared-secret"}}, True),
        ({"ForAnyValue:StringEquals": {"sts:externalid": ["one", "two"]}}, True),
        ({"StringLike": {"sts:ExternalId": "*"}}, False),
        ({"StringLike": {"sts:ExternalId": "?*"}}, False),
        ({"StringLike": {"sts:ExternalId": "prefix-*"}}, False),
        ({"StringEqualsIfExists": {"sts:ExternalId": "secret"}}, False),
        ({"ForAllValues:StringEquals": {"sts:ExternalId": "secret"}}, False),
        ({"StringNotEquals": {"sts:ExternalId": "secret"}}, False),
        ({"Null": {"sts:ExternalId": "false"}}, False),
        ({"StringEquals": {"sts:ExternalId": ""}}, False),
        ({"StringEquals": {"sts:ExternalId": UNKNOWN}}, False),
        ({"StringEquals": {"sts:ExternalId": ["secret", "*"]}}, False),
    ])
    def test_external_id(self, condition: dict, expected: bool) -> None:
        assert requires_fixed(statement(Condition=condition), "sts:ExternalId") is expected

    @pytest.mark.parametrize("value,expected", [
        ("system:serviceaccount:clickhouse:server", True),
        ("system:serviceaccount:clickhouse:*", True),
        ("repo:acme/api:ref:refs/heads/main", True),
        ("repo:acme/*", True),
        ("system:serviceaccount:*", False),
        ("system:serviceaccount:*:server", False),
        ("repo:*", False),
        ("repo:acme*", False),
        ("repo:*/api:*", False),
        ("*", False),
        ("?*", False),
        ("112233445566778899", True),
    ])
    def test_subject_pins(self, value: str, expected: bool) -> None:
        assert subject_pins(value) is expected

    def test_claims_match_the_issuer(self) -> None:
        issuer = "token.actions.githubusercontent.com"
        s = statement(Condition={"StringEquals": {f"{issuer}:aud": "sts.amazonaws.com"},
                                 "StringLike": {f"{issuer}:sub": "repo:acme/api:*"}})
        assert claim_pinned(s, "sub", {issuer}) and claim_pinned(s, "aud", {issuer})
        assert not claim_pinned(s, "sub", {"accounts.google.com"})
        assert claim_pinned(s, "sub", set())  # an unknown issuer: any <issuer>:sub key


class TestAdmin:
    @pytest.mark.parametrize("fields", [
        {"Action": "*", "Resource": "*"},
        {"Action": "*:*", "Resource": "*"},
        {"Action": "*", "Resource": "arn:aws:*:*:*:*"},
        {"Action": "*", "Resource": "arn:*"},
        {"Action": "*", "Resource": f"arn:aws:*:*:{ACCOUNT}:*"},
        {"Action": "*", "NotResource": "arn:aws:s3:::audit/*"},
        {"NotAction": "iam:*", "Resource": "*"},
        {"Action": "iam:*", "Resource": "*"},
        {"Action": "IAM:*", "Resource": f"arn:aws:iam::{ACCOUNT}:role/*"},
        {"Action": "iam:PassRole", "Resource": "*"},
        {"Action": "iam:Pass*", "Resource": f"arn:aws:iam::{ACCOUNT}:role/*"},
        {"Action": "iam:PassRole", "Resource": "arn:aws:iam::*:role/*"},
        {"Action": "iam:AttachRolePolicy", "Resource": "*"},
        {"Action": ["iam:Put*Policy"], "Resource": f"arn:aws:iam::{ACCOUNT}:user/*"},
        {"Action": "iam:CreatePolicyVersion", "Resource": f"arn:aws:iam::{ACCOUNT}:policy/*"},
        {"Action": "iam:UpdateAssumeRolePolicy", "Resource": "*"},
    ])
    def test_admin_equivalent(self, fields: dict) -> None:
        assert admin_findings(parse(doc({"Effect": "Allow", **fields})))

    @pytest.mark.parametrize("fields", [
        {"Action": "s3:*", "Resource": "*"},
        {"Action": "ec2:RunInstances", "Resource": "arn:aws:ec2:us-east-1:*:*"},
        {"Action": "iam:PassRole", "Resource": f"arn:aws:iam::{ACCOUNT}:role/*-k8s-control-plane"},
        {"Action": "iam:GetRole", "Resource": "*"},
        {"Action": "*", "Resource": "arn:aws:s3:::bucket/*"},
        {"Action": "iam:AttachRolePolicy", "Resource": f"arn:aws:iam::{ACCOUNT}:role/app-*"},
        {"Action": "iam:AttachRolePolicy", "Resource": f"arn:aws:iam::{ACCOUNT}:role/*",
         "Condition": {"StringEquals": {"aws:ResourceTag/team": "data"}}},
    ])
    def test_scoped(self, fields: dict) -> None:
        assert not admin_findings(parse(doc({"Effect": "Allow", **fields})))

    def test_resource_policies_and_denies_are_not_identity_grants(self) -> None:
        assert not admin_findings(parse(doc({"Effect": "Deny", "Action": "*", "Resource": "*"})))
        assert not admin_findings(parse(doc({"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "*",
                                             "Resource": "*"})))

    @pytest.mark.parametrize("arn,expected", [
        ("arn:aws:iam::aws:policy/AdministratorAccess", True),
        ("arn:aws-us-gov:iam::aws:policy/IAMFullAccess", True),
        (" arn:aws:iam::aws:policy/administratoraccess", True),
        ("arn:aws:iam::aws:policy/AdministratorAccess-Amplify", False),
        (f"arn:aws:iam::{ACCOUNT}:policy/AdministratorAccess", False),
        ("arn:aws:iam::aws:policy/ReadOnlyAccess", False),
    ])
    def test_admin_managed_policies(self, arn: str, expected: bool) -> None:
        assert is_admin_policy_arn(arn) is expected
