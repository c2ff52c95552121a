"""The password secret: usable credentials, agreement with the outputs, and no secret text in any message."""

from __future__ import annotations

import json

import pytest

from scripts.verify.credentials import check_credentials
from scripts.verify.outputs import parse_outputs
from scripts.verify.report import Status
from tests.scripts.verify.support import PASSWORD, SERVICE_HOST, secret_value

SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:clickhouse-aws/dev/clickhouse/default-AbCdEf"
TARGET = parse_outputs({
    "aws_region": "us-east-1", "clickhouse_url": f"https://{SERVICE_HOST}:8443", "clickhouse_user": "default",
    "clickhouse_password_secret_arn": SECRET_ARN, "private_dns_hostname": SERVICE_HOST,
    "vpc_id": "vpc-0d7117d9ea3957c54", "vpc_endpoint_id": "vpce-0f6b338679639818b",
})


def test_the_stacks_secret_passes_and_yields_credentials_that_do_not_show_the_password():
    result, credentials = check_credentials(TARGET, secret_value())
    assert result.status is Status.PASS
    assert credentials is not None and credentials.password == PASSWORD and credentials.username == "default"
    assert PASSWORD not in repr(credentials) and PASSWORD not in repr(result)


@pytest.mark.parametrize("secret, message", [
    (None, f"The secret {SECRET_ARN} does not exist in us-east-1."),
    (f"password={PASSWORD}", f"The secret {SECRET_ARN} does not hold a JSON object (the stack writes one)."),
    (json.dumps([PASSWORD]), f"The secret {SECRET_ARN} does not hold a JSON object (the stack writes one)."),
    ("", f"The secret {SECRET_ARN} does not hold a JSON object (the stack writes one)."),
    (secret_value(password=None), f"The secret {SECRET_ARN} has no non-empty 'password' string."),
    (secret_value(password=12345), f"The secret {SECRET_ARN} has no non-empty 'password' string."),
    (secret_value(username=None), f"The secret {SECRET_ARN} has no non-empty 'username' string."),
])
def test_an_unusable_secret_fails_without_quoting_it(secret, message):
    result, credentials = check_credentials(TARGET, secret)
    assert result.status is Status.FAIL and credentials is None
    assert result.message == message
    assert PASSWORD not in repr(result)


@pytest.mark.parametrize("changes, problem", [
    ({"username": "admin"}, "'username' is 'admin', but output 'clickhouse_user' is 'default'"),
    ({"host": "other.example.internal"}, f"'host' is 'other.example.internal', but the service's hostname is "
                                         f"'{SERVICE_HOST}'"),
    ({"host": None}, f"'host' is None, but the service's hostname is '{SERVICE_HOST}'"),
    ({"port": 443}, "'port' is 443, but clickhouse_url's port is 8443"),
    ({"port": "8443"}, "'port' is '8443', but clickhouse_url's port is 8443"),
    ({"native_port": 9000}, "'native_port' is 9000, not 9440"),
])
def test_a_secret_that_disagrees_with_the_outputs_fails_but_still_allows_the_query(changes, problem):
    result, credentials = check_credentials(TARGET, secret_value(**changes))
    assert result.status is Status.FAIL
    assert result.message == f"The secret {SECRET_ARN} disagrees with the outputs."
    assert result.details == (problem,)
    assert credentials is not None
    assert PASSWORD not in repr(result)


def test_an_upper_case_or_dotted_host_in_the_secret_is_the_same_host():
    result, _ = check_credentials(TARGET, secret_value(host=SERVICE_HOST.upper() + "."))
    assert result.status is Status.PASS
