"""credentials policies through the server, and the wire-level plaintext check the gate applies under the same name."""

from __future__ import annotations

import pytest
from pulumi.runtime.rpc import UNKNOWN

from policy.clickhouse_aws_policy.credentials import is_sensitive_name, plaintext_findings
from scripts.offline.analyzer import secret
from scripts.preview import gate

SECRET = "aws:secretsmanager/secret:Secret"
STACK = "pulumi:pulumi:Stack"
EXTERNAL_ID = "offline-placeholder-for-clickhouse-aws:byocExternalId"


@pytest.mark.parametrize("props,flagged", [
    ({"kmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/k"}, False),
    ({"kmsKeyId": UNKNOWN}, False),
    ({}, True),
    ({"kmsKeyId": "alias/aws/secretsmanager"}, True),
])
def test_secret_customer_kms_key_is_advisory(pack, props: dict, flagged: bool) -> None:
    diagnostics = pack.analyze(SECRET, {"name": "s", **props}, policy="secret-customer-kms-key")
    assert [d.level for d in diagnostics] == (["advisory"] if flagged else [])


def test_secret_customer_kms_key_can_be_made_mandatory(pack) -> None:
    pack.configure({"secret-customer-kms-key": "mandatory"})
    assert [d.level for d in pack.analyze(SECRET, {"name": "s"}, policy="secret-customer-kms-key")] == ["mandatory"]


def stack_outputs(pack, outputs: dict) -> list[str]:
    diagnostics = pack.analyze_stack([pack.resource(STACK, "proj-test", outputs)], policy="no-plaintext-secrets")
    assert all(d.level == "mandatory" and d.urn == pack.urn(STACK, "proj-test") for d in diagnostics)
    return [d.message for d in diagnostics]


class TestStackOutputs:
    def test_references_to_credentials_pass(self, pack) -> None:
        outputs = {
            "clickhouse_password_secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x",
            "clickhouse_password_kms_key_id": "arn:aws:kms:us-east-1:123456789012:key/k",
            "clickhouse_user": "default",
            "byoc": {"management_role_name": "ClickHouseManagement", "role_arns": {"irsa": "arn:aws:iam::1:role/x"}},
        }
        assert stack_outputs(pack, outputs) == []

    @pytest.mark.parametrize("name", [
        "clickhouse_password_secret_arn", "clickhouse_password_kms_key_id", "api_token_secret_name",
        "external_id_secret_arns", "db_credentials_ids", "private_key_id",
    ])
    def test_reference_names_are_not_credentials_whatever_precedes_them(self, pack, name: str) -> None:
        assert stack_outputs(pack, {name: "s3cr3t-l00king-value"}) == []

    @pytest.mark.parametrize("value", [
        "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:kms:us-east-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab",
        "arn:aws:kms:us-east-1:123456789012:alias/clickhouse-password",
    ])
    def test_kms_key_arns_are_references(self, pack, value: str) -> None:
        assert stack_outputs(pack, {"clickhouse_password_kms_key_id": value, "clickhouse_password_key": value}) == []

    @pytest.mark.parametrize("outputs,path", [
        ({"clickhouse_password": "hunter2hunter2"}, "clickhouse_password"),
        ({"clickhouse_password": secret("hunter2hunter2")}, "clickhouse_password"),
        ({"byoc": {"region": "us-east-1", "external_id": "abc"}}, "byoc.external_id"),
    ])
    def test_credential_outputs_are_blocked_secret_or_not(self, pack, outputs: dict, path: str) -> None:
        messages = stack_outputs(pack, outputs)
        assert len(messages) == 1 and f"stack output {path} carries a credential" in messages[0]


@pytest.fixture
def byoc_pack(pack_for):
    """A pack for a stack whose config holds a secret ExternalId."""
    config = {"aws:region": "us-east-1", "clickhouse-aws:byocExternalId": EXTERNAL_ID}
    return pack_for(config, ["clickhouse-aws:byocExternalId"])


@pytest.mark.parametrize("key_arn", [
    "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "arn:aws:kms:us-east-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab",
    "arn:aws:kms:us-east-1:123456789012:alias/clickhouse-password",
])
def test_the_password_kms_key_config_is_not_a_credential(pack_for, key_arn: str) -> None:
    """passwordKmsKey's documented forms: the output naming the key carries the config value, which is a reference."""
    pack = pack_for({"aws:region": "us-east-1", "clickhouse-aws:passwordKmsKey": key_arn})
    assert stack_outputs(pack, {"clickhouse_password_kms_key_id": key_arn}) == []


def test_output_containing_a_secret_config_value_is_blocked(byoc_pack) -> None:
    assert stack_outputs(byoc_pack, {"trust_hint": "unrelated"}) == []
    messages = stack_outputs(byoc_pack, {"trust_hint": f"ExternalId={EXTERNAL_ID}"})
    assert len(messages) == 1 and "sensitive config key" in messages[0]


@pytest.mark.parametrize("name,sensitive", [
    ("secretString", True), ("passwordHash", True), ("doubleSha1PasswordHash", True), ("password", True),
    ("passwordWo", True), ("externalId", True), ("ExternalID", True), ("clickhouse-aws:byocExternalId", True),
    ("privateKey", True), ("authToken", True),
    ("passwordWoVersion", False), ("secretId", False), ("clickhouse_password_secret_arn", False),
    ("passwordKmsKey", False), ("clickhouse_password_kms_key_id", False), ("external_id_arn", False),
    ("apiKeyName", False), ("byoc_external_id", True), ("secret_access_key", True),
    ("kmsKeyId", False), ("minSpecial", False), ("recoveryWindowInDays", False), ("name", False),
])
def test_sensitive_names(name: str, sensitive: bool) -> None:
    assert is_sensitive_name(name) is sensitive


class TestPlaintextOnTheWire:
    def test_marked_secrets_pass(self) -> None:
        wire = {"secretId": "arn", "secretString": secret('{"password": "p"}'), "passwordHash": secret("h")}
        assert plaintext_findings(wire) == []

    def test_unmarked_credential_is_found(self) -> None:
        wire = {"secretId": "arn", "secretString": '{"password": "p"}', "nested": [{"password": "p"}]}
        assert plaintext_findings(wire) == ["secretString is a credential but is not marked secret",
                                            "nested[0].password is a credential but is not marked secret"]

    def test_secret_config_value_outside_a_secret_is_found(self) -> None:
        trust = '{"Condition": {"StringEquals": {"sts:ExternalId": "%s"}}}' % EXTERNAL_ID
        assert plaintext_findings({"assumeRolePolicy": secret(trust)}, [EXTERNAL_ID]) == []
        assert plaintext_findings({"assumeRolePolicy": trust}, [EXTERNAL_ID]) == [
            "assumeRolePolicy contains the value of a secret config key but is not marked secret"]

    def test_unknowns_and_short_values_are_not_findings(self) -> None:
        assert plaintext_findings({"password": UNKNOWN, "flag": "true"}, ["true"]) == []


@pytest.mark.parametrize("key_arn", [
    "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "arn:aws:kms:us-east-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab",
    "arn:aws:kms:us-east-1:123456789012:alias/clickhouse-password",
])
def test_the_documented_password_kms_key_forms_pass_the_gate(key_arn: str) -> None:
    """The real program with passwordKmsKey set exports the key's ARN; the gate must not take it for a credential."""
    result = gate("dev", overrides={"clickhouse-aws:passwordKmsKey": key_arn})
    assert result.error is None and result.mandatory == [], [v.message for v in result.mandatory]
