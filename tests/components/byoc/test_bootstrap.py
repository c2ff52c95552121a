"""ClickHouse's bootstrap role: its CloudFormation template deployed unchanged, or an existing role named in config."""

from __future__ import annotations

import json

import pytest

from pulumi.runtime import rpc

from scripts.offline.engine import UNSET
from scripts.preview import gate
from stack_config.keys import BYOC_TEMPLATE_URL
from tests.helpers import plain_wire_strings, wire_value

NS = "clickhouse-aws"
BOOTSTRAP = "clickhouse-aws:byoc:Bootstrap"
STACK = "aws:cloudformation/stack:Stack"
ROLE_ARN = "arn:aws:iam::123456789012:role/ClickHouseManagementRole"
EXISTING = {f"{NS}:byocBootstrap": "existing", f"{NS}:byocExternalId": UNSET, f"{NS}:byocManagementRoleArn": ROLE_ARN}


@pytest.fixture(scope="module")
def existing(byoc_run):
    return byoc_run("byoc", EXISTING)


def external_id(result) -> str:
    return result.config[f"{NS}:byocExternalId"]


def test_the_byoc_stack_deploys_clickhouses_template_unchanged(phase1, children):
    (stack,) = children(phase1, BOOTSTRAP, STACK)
    assert stack.inputs["templateUrl"] == BYOC_TEMPLATE_URL
    assert "templateBody" not in stack.inputs
    assert stack.inputs["capabilities"] == ["CAPABILITY_NAMED_IAM"]
    assert stack.inputs["name"] == "clickhouse-aws-byoc-clickhouse-byoc-bootstrap"
    assert stack.inputs["onFailure"] == "DELETE" and "disableRollback" not in stack.inputs
    assert stack.protect is True


def test_the_template_gets_exactly_its_documented_parameters(phase1, custom, children):
    (stack,) = children(phase1, BOOTSTRAP, STACK)
    assert stack.inputs["parameters"] == {
        "ExternalId": external_id(phase1),
        "IncludeVPCWritePermissions": "false",  # the VPC is the stack's own: ClickHouse's BYO-VPC setting
        "IncludeIAMWritePermissions": "true",
    }
    (customised,) = children(custom, BOOTSTRAP, STACK)
    assert customised.inputs["parameters"]["IncludeIAMWritePermissions"] == "false"
    assert customised.inputs["parameters"]["IncludeVPCWritePermissions"] == "false"


def test_the_external_id_is_secret_on_the_wire_and_in_state(phase1, children):
    (stack,) = children(phase1, BOOTSTRAP, STACK)
    # The SDK marks the whole map secret once one of its values is.
    assert rpc.is_rpc_secret(wire_value(stack, "parameters"))
    # CloudFormation echoes the parameters back: the program keeps that output secret in state too.
    assert stack.additional_secret_outputs == ["parameters"]


@pytest.mark.parametrize("phase", ["phase1", "phase3"])
def test_the_external_id_appears_nowhere_in_plaintext(request, phase):
    result = request.getfixturevalue(phase)
    assert [where for where, text in plain_wire_strings(result) if external_id(result) in text] == []
    assert external_id(result) not in json.dumps(result.outputs)
    assert "byoc" not in result.secret_outputs  # the handoff renderer needs the object in the clear


def test_the_bootstrap_role_arn_is_in_the_byoc_output(phase1):
    byoc = phase1.outputs["byoc"]
    assert byoc["role_arns"]["management"] == ROLE_ARN
    assert (byoc["management_role_name"], byoc["bootstrap_mode"]) == ("ClickHouseManagementRole", "cloudformation")


def test_an_unprotected_stack_leaves_the_bootstrap_stack_unprotected(byoc_run, children):
    (stack,) = children(byoc_run("byoc", {f"{NS}:protect": False}), BOOTSTRAP, STACK)
    assert stack.protect is False


def test_an_existing_role_declares_no_bootstrap_resource(existing, children):
    assert existing.error is None, existing.error
    assert children(existing, BOOTSTRAP) == []
    assert existing.of_type(STACK) == []
    byoc = existing.outputs["byoc"]
    assert byoc["role_arns"]["management"] == ROLE_ARN
    assert byoc["bootstrap_mode"] == "existing"


def test_an_existing_role_is_named_by_the_key_policies_without_waiting_for_anything(existing, child, document):
    ebs = child(existing, "clickhouse-aws:byoc:Keys", "aws:kms/key:Key", "byoc-ebs")
    principals = {p for s in document(ebs)["Statement"] for p in s["Principal"].get("AWS", [])}
    assert ROLE_ARN in principals
    assert not [d for d in ebs.dependencies if "cloudformation" in d]


def test_an_existing_role_in_another_account_is_a_config_error(byoc_error):
    other = "arn:aws:iam::210987654321:role/ClickHouseManagementRole"
    message = byoc_error({**EXISTING, f"{NS}:byocManagementRoleArn": other})
    assert "clickhouse-aws:byocManagementRoleArn: is a role in account 210987654321, but this stack deploys into " \
           "account 123456789012" in message


def test_a_renamed_role_is_refused_before_any_resource(byoc_error):
    message = byoc_error({f"{NS}:byocManagementRoleName": "AcmeClickHouseManagement"})
    assert "clickhouse-aws:byocManagementRoleName: is no longer read: ClickHouse's automation assumes a role named " \
           "exactly ClickHouseManagementRole" in message


def _bootstrap_stack(run):
    (stack,) = [r for r in run.resources if r.type == STACK]
    return stack


def test_the_gate_passes_the_bootstrap_stack_and_catches_its_external_id_in_plaintext(analyzer, gated):
    assert [v for v in gated("phase1").mandatory if "cloudformation" in v.policy] == []

    def unwrap(run):
        # The parameters as a program that forgot Output.secret would send them: the same values, no secret marker.
        stack = _bootstrap_stack(run)
        plain = wire_value(stack, "parameters")["value"]
        stack.wire.fields["parameters"].struct_value.Clear()
        stack.wire.fields["parameters"].struct_value.update(plain)

    result = gate("byoc", {}, mutate=unwrap, analyzer=analyzer)
    urn = _bootstrap_stack(result.run).urn
    assert {(v.policy, v.urn) for v in result.mandatory} == {("no-plaintext-secrets", urn)}


def test_the_gate_catches_parameters_kept_in_plain_state(analyzer):
    def forget(run):
        _bootstrap_stack(run).additional_secret_outputs.clear()

    result = gate("byoc", {}, mutate=forget, analyzer=analyzer)
    assert {(v.policy, v.urn) for v in result.mandatory} == {
        ("cloudformation-external-id-secret", _bootstrap_stack(result.run).urn)}
