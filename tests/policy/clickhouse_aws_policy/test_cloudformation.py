"""cloudformation policies through the server: allow-listed template URLs only, and the ExternalId from secret config."""

from __future__ import annotations

import pytest
from pulumi.runtime.rpc import UNKNOWN

from policy.clickhouse_aws_policy.cloudformation import CLICKHOUSE_TEMPLATE_URLS
from scripts.offline.analyzer import secret

STACK = "aws:cloudformation/stack:Stack"
TEMPLATE = "cloudformation-template-allowed"
EXTERNAL_ID_SECRET = "cloudformation-external-id-secret"
V2 = CLICKHOUSE_TEMPLATE_URLS[0]
EXTERNAL_ID = "ext-0f3c9a7e-secret-from-clickhouse"
KEEPS_PARAMETERS_SECRET = {"additionalSecretOutputs": ["parameters"]}


def bootstrap(external_id=None, **props) -> dict:
    """ClickHouse's bootstrap stack as the program declares it, the ExternalId on the wire as a secret."""
    parameters = {"ExternalId": secret(external_id or EXTERNAL_ID), "IncludeVPCWritePermissions": "false",
                  "IncludeIAMWritePermissions": "true"}
    return {"name": "ch-bootstrap", "templateUrl": V2, "capabilities": ["CAPABILITY_NAMED_IAM"],
            "parameters": parameters, **props}


@pytest.fixture
def byoc_pack(pack_for):
    """A pack for a stack whose config holds the ExternalId, set with --secret."""
    return pack_for({"aws:region": "us-east-1", "clickhouse-aws:byocExternalId": EXTERNAL_ID},
                    ["clickhouse-aws:byocExternalId"])


def test_the_programs_bootstrap_stack_passes_both(byoc_pack) -> None:
    assert byoc_pack.analyze(STACK, bootstrap(), options=KEEPS_PARAMETERS_SECRET) == []


@pytest.mark.parametrize("url", [
    CLICKHOUSE_TEMPLATE_URLS[1],  # the older template, as older ClickHouse pages link it
    V2,
])
def test_clickhouses_template_urls_are_allowed_by_default(pack, url: str) -> None:
    assert pack.messages(TEMPLATE, STACK, {"templateUrl": url}) == []


@pytest.mark.parametrize("url", [
    V2.replace("https://", "http://"),
    V2 + "?versionId=3HL4kqtJlcpXroDTDmJ",
    V2.replace("clickhouse-public-resources.clickhouse.cloud", "clickhouse-public-resources.clickhouse.cloud.evil"),
    V2.replace("byoc_v2.yaml", "byoc_v3.yaml"),
    V2.replace("s3.us-east-2", "s3.us-east-1"),
    V2.upper(),
    V2 + "/",
    " " + V2,
])
def test_any_other_url_is_blocked(pack, url: str) -> None:
    (message,) = pack.blocking(TEMPLATE, STACK, {"templateUrl": url})
    assert f"templateUrl {url!r} is not an allowed template URL" in message and V2 in message


def test_an_inline_template_body_is_blocked_even_beside_an_allowed_url(pack) -> None:
    messages = pack.blocking(TEMPLATE, STACK, {"templateUrl": V2, "templateBody": "Resources: {}"})
    assert [m.splitlines()[-1] for m in messages] == [
        "templateBody is set: a template is taken only from an allow-listed URL (templateUrl), never inline, so what "
        "runs is exactly what its publisher ships."]


@pytest.mark.parametrize("props,expected", [
    ({}, "no templateUrl"),
    ({"templateUrl": UNKNOWN}, "templateUrl is not known at preview"),
    ({"templateBody": UNKNOWN}, "templateBody is set"),
])
def test_a_missing_or_unknown_template_is_blocked(pack, props: dict, expected: str) -> None:
    messages = pack.blocking(TEMPLATE, STACK, props)
    assert len(messages) == 1 and messages[0].splitlines()[-1].startswith(expected)


@pytest.mark.parametrize("type_", ["aws:cloudformation/stackSet:StackSet", "aws-native:cloudformation:Stack"])
def test_stack_sets_and_native_stacks_are_held_to_the_same_list(pack, type_: str) -> None:
    assert pack.messages(TEMPLATE, type_, {"templateUrl": V2}, provider={}) == []
    (message,) = pack.blocking(TEMPLATE, type_, {"templateBody": "{}"}, provider={})
    assert message.splitlines()[-1].startswith("templateBody is set")


def test_a_serverless_application_repository_stack_is_blocked(pack) -> None:
    """A SAR application is a CloudFormation stack too, from a template no allow-list names."""
    sar = "aws:serverlessrepository/cloudFormationStack:CloudFormationStack"
    (message,) = pack.blocking(TEMPLATE, sar, {"name": "app", "capabilities": ["CAPABILITY_NAMED_IAM"],
                                               "applicationId": "arn:aws:serverlessrepo:us-east-1:123456789012:"
                                                                "applications/role-maker"})
    assert "Serverless Application Repository" in message


def test_the_allow_list_is_policy_config(pack) -> None:
    own = "https://s3.eu-west-1.amazonaws.com/acme-approved/byoc_v2.yaml"
    pack.configure({TEMPLATE: {"allowedTemplateUrls": [own]}})
    assert pack.messages(TEMPLATE, STACK, {"templateUrl": own}) == []
    assert len(pack.blocking(TEMPLATE, STACK, {"templateUrl": V2})) == 1


def test_an_empty_allow_list_allows_no_stack(pack) -> None:
    pack.configure({TEMPLATE: {"allowedTemplateUrls": []}})
    (message,) = pack.blocking(TEMPLATE, STACK, {"templateUrl": V2})
    assert "none (allowedTemplateUrls is empty)" in message


def test_the_template_url_is_not_a_region_violation(pack) -> None:
    """ClickHouse publishes the template in us-east-2 for every region; the allow-list judges it, not the region."""
    assert [d for d in pack.analyze(STACK, {"templateUrl": V2}) if d.policy == "arn-inputs-same-region"] == []
    other = pack.analyze(STACK, {"templateUrl": V2, "notificationArns": ["arn:aws:sns:eu-west-1:123456789012:t"]})
    assert [d.policy for d in other if d.policy == "arn-inputs-same-region"] == ["arn-inputs-same-region"]


def test_the_cli_lists_no_secret_keys_so_a_credential_named_key_counts(pack_for) -> None:
    """The CLI passes a pack the decrypted config without PULUMI_CONFIG_SECRET_KEYS; byocExternalId is one by name."""
    cli_pack = pack_for({"aws:region": "us-east-1", "clickhouse-aws:byocExternalId": EXTERNAL_ID})
    assert cli_pack.analyze(STACK, bootstrap(), options=KEEPS_PARAMETERS_SECRET) == []
    plain_named = pack_for({"aws:region": "us-east-1", "clickhouse-aws:byocBootstrapNote": EXTERNAL_ID})
    assert len(plain_named.blocking(EXTERNAL_ID_SECRET, STACK, bootstrap(), options=KEEPS_PARAMETERS_SECRET)) == 1


def test_the_secret_config_value_passes_only_with_its_state_copy_kept_secret(byoc_pack) -> None:
    (message,) = byoc_pack.blocking(EXTERNAL_ID_SECRET, STACK, bootstrap())
    assert message.splitlines()[-1].startswith("'parameters' is not in additionalSecretOutputs")


@pytest.mark.parametrize("parameters,expected", [
    # A literal in code, or a plain config value: not what the engine lists as secret.
    ({"ExternalId": "ext-literal-in-the-program"}, "parameter ExternalId is not the value of a secret config key"),
    ({"ExternalId": secret("ext-another-secret-value")}, "parameter ExternalId is not the value of a secret config key"),
    ({"ExternalId": UNKNOWN}, "parameter ExternalId is not the value of a secret config key"),
    ({"IncludeVPCWritePermissions": "false"}, "parameter ExternalId is missing or empty"),
    ({"ExternalId": ""}, "parameter ExternalId is missing or empty"),
    # Another credential-named parameter is held to the same rule.
    ({"ExternalId": secret(EXTERNAL_ID), "DbPassword": "hunter2hunter2"}, "parameter DbPassword is not the value"),
])
def test_an_external_id_not_from_secret_config_is_blocked(byoc_pack, parameters: dict, expected: str) -> None:
    messages = byoc_pack.blocking(EXTERNAL_ID_SECRET, STACK, {"templateUrl": V2, "parameters": parameters},
                                  options=KEEPS_PARAMETERS_SECRET)
    assert len(messages) == 1 and messages[0].splitlines()[-1].startswith(expected), messages


def test_unknown_parameters_are_blocked(byoc_pack) -> None:
    (message,) = byoc_pack.blocking(EXTERNAL_ID_SECRET, STACK, {"templateUrl": V2, "parameters": UNKNOWN},
                                    options=KEEPS_PARAMETERS_SECRET)
    assert message.splitlines()[-1].startswith("parameters are not known at preview")


def test_a_stack_without_the_secret_config_is_blocked(pack) -> None:
    """The default pack's stack has no secret config: a known ExternalId cannot have come from one."""
    (message,) = pack.blocking(EXTERNAL_ID_SECRET, STACK, bootstrap(), options=KEEPS_PARAMETERS_SECRET)
    assert message.splitlines()[-1].startswith("parameter ExternalId is not the value of a secret config key")
