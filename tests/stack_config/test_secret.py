"""The password secret config: a recovery window Secrets Manager accepts, and a KMS key in the stack's region."""

from __future__ import annotations

import pytest

from stack_config.secret import SecretConfig

KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/0b7a1d2c-3e4f-4a5b-8c6d-7e8f9a0b1c2d"


@pytest.mark.parametrize(("overrides", "key_name", "expected"), [
    ({"secretRecoveryWindowDays": 3}, "secretRecoveryWindowDays", "3 must be 0 (delete at once) or between 7 and 30 days"),
    ({"secretRecoveryWindowDays": 31}, "secretRecoveryWindowDays", "31 is above the maximum of 30"),
    ({"secretRecoveryWindowDays": -1}, "secretRecoveryWindowDays", "-1 is below the minimum of 0"),
    ({"passwordKmsKey": "my-key"}, "passwordKmsKey", "'my-key' is not '' (the AWS managed key), 'create', or a KMS key or alias ARN"),
    ({"passwordKmsKey": KEY_ARN.replace("us-east-1", "eu-west-1")}, "passwordKmsKey",
     "is in eu-west-1 but the stack is in us-east-1: a cross-region key is not allowed"),
])
def test_bad_secret_input_is_one_message_naming_the_key(problem, overrides, key_name, expected):
    assert expected in problem(key_name, overrides)


@pytest.mark.parametrize(("value", "expected"), [
    ("", SecretConfig(0, False, None)),
    ("create", SecretConfig(0, True, None)),
    (KEY_ARN, SecretConfig(0, False, KEY_ARN)),
    ("arn:aws:kms:us-east-1:123456789012:alias/clickhouse", SecretConfig(0, False, "arn:aws:kms:us-east-1:123456789012:alias/clickhouse")),
])
def test_the_password_key_is_aws_managed_created_or_given(load, value, expected):
    assert load({"passwordKmsKey": value}).secret == expected


def test_the_password_version_starts_at_1_and_is_read(load, problem):
    assert load().secret.password_version == 1
    assert load({"clickhousePasswordVersion": 4}).secret.password_version == 4
    assert problem("clickhousePasswordVersion", {"clickhousePasswordVersion": 0}) == "0 is below the minimum of 1"
