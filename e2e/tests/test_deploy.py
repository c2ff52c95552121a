"""Every stack through ``pulumi up`` with the policy pack: deterministic (a second up changes nothing), outputs that
the audit and the handoff can read, no plaintext secret in the state, the offline gate in step with the CLI on a
deployed stack, and destroy that spares a protected stack and tears dev down.

The stacks are deployed once per session (the ``deployed`` fixture) and no test here changes them: the replacement is
previewed from a copy of the stack file, destroy of prod is refused, and dev is torn down in a workspace of its own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from e2e.tests.support import STACKS, Deployed, stack_config
from scripts.audit.model import parse_outputs
from scripts.handoff import render_handoff
from scripts.offline.engine import run_program
from scripts.offline.fakes import ACCOUNT_ID
from scripts.stack.outputs import render_env

SECRET_SIG = "4dabf18193072939515e22adb298388d"
BYOC_STACKS = [s for s in STACKS if stack_config(s).get("clickhouse-aws:byocEnabled") is True]


def offline_outputs(stack: str) -> dict[str, Any]:
    """The stack outputs the offline engine computes from the repository's stack file."""
    run = run_program(stack)
    assert run.error is None, run.error
    return run.outputs


def state_files(workspace) -> dict[Path, str]:
    """Every file the backend wrote: the checkpoint, its history and its backups."""
    return {p: p.read_text(errors="replace") for p in (workspace.root / "state").rglob("*") if p.is_file()}


@pytest.mark.parametrize("stack", STACKS)
def test_up_with_the_policy_pack_creates_the_stack(deployed: Deployed, stack: str) -> None:
    run = deployed.ups[stack]
    assert run.returncode == 0, run.explain()
    assert run.mandatory_policies() == set()
    assert set(run.changes()) == {"create"} and run.changes()["create"] > 0


@pytest.mark.parametrize("stack", STACKS)
def test_a_second_up_changes_nothing(deployed: Deployed, stack: str) -> None:
    run = deployed.second_ups[stack]
    assert run.returncode == 0, run.explain()
    assert run.changes() == {"same": deployed.ups[stack].changes()["create"]}
    assert deployed.passwords_after_second_up[stack] == deployed.passwords[stack], "the password must not rotate"


@pytest.mark.parametrize("stack", STACKS)
def test_offline_gate_reports_what_the_cli_reports_on_a_deployed_stack(deployed: Deployed, gate, stack: str) -> None:
    run = deployed.previews[stack]
    assert run.returncode == 0, run.explain()
    assert set(run.changes()) == {"same"}
    offline = gate(stack)
    assert offline["exit_code"] == 0
    assert run.policy_findings() == {(v["policy"], v["urn"], v["level"]) for v in offline["violations"]
                                     if v["source"] == "analyzer"}


@pytest.mark.parametrize("stack", STACKS)
def test_stack_outputs_satisfy_the_audit_and_handoff_contract(deployed: Deployed, stack: str) -> None:
    outputs = deployed.workspace.outputs(stack)
    # The doubles answer from the offline engine's table, so the CLI's outputs are the gate's, value for value.
    assert outputs == offline_outputs(stack)
    parsed = parse_outputs(outputs)
    assert parsed.aws_region == "us-east-1"
    env = render_env(outputs, stack)
    if stack in BYOC_STACKS:
        # Before ClickHouse reports its infrastructure a BYOC stack has neither a PrivateLink endpoint nor a service.
        assert parsed.vpc_endpoint_id is None and parsed.password_secret_arn is None
        assert parsed.byoc is not None
        assert parsed.byoc.vpc_id in render_handoff(outputs)
    else:
        assert parsed.vpc_endpoint_id.startswith("vpce-")
        assert parsed.password_secret_arn.startswith("arn:aws:secretsmanager:us-east-1:")
        assert f"CLICKHOUSE_VPC_ENDPOINT_ID={parsed.vpc_endpoint_id}" in env.splitlines()


@pytest.mark.parametrize("stack", STACKS)
def test_the_state_holds_no_plaintext_secret(deployed: Deployed, stack: str) -> None:
    workspace = deployed.workspace
    password = deployed.passwords[stack]
    assert password or stack in BYOC_STACKS, f"{stack} has a ClickHouse service, so it must have a generated password"
    # Without a ClickHouse resource the clickhouse provider's config never reaches the state.
    secrets = {**({"generated password": password} if password else {}),
               **{k: v for k, v in deployed.secrets[stack].items() if password or not k.startswith("clickhouse:")}}
    assert secrets, f"{stack} holds no secret to search the state for"
    decrypted = workspace.export(stack, "--show-secrets")
    exported = workspace.export(stack)
    files = state_files(workspace)
    assert any(".checkpoint.json" in p.name for p in files) and any(p.name == f"{stack}.json" for p in files)
    for what, value in secrets.items():
        assert value in decrypted, f"{what} never reached the state, so searching for it proves nothing"
        assert value not in exported, f"{what} is in plain text in `pulumi stack export`"
        for path, text in files.items():
            assert value not in text, f"{what} is in plain text in {path}"
        assert value not in (workspace.project / f"Pulumi.{stack}.yaml").read_text()


@pytest.mark.parametrize("stack", BYOC_STACKS)
def test_the_external_id_set_with_config_secret_stays_secret(deployed: Deployed, stack: str) -> None:
    """``pulumi config set --secret clickhouse-aws:byocExternalId`` reaches the parameters of ClickHouse's bootstrap
    CloudFormation stack, and every property that carries it holds it only encrypted in the state (the whole property
    secret, or, in a map of parameters, the one value); no output carries it."""
    workspace = deployed.workspace
    external_id = deployed.secrets[stack]["clickhouse-aws:byocExternalId"]
    plain = {r["urn"]: r for r in json.loads(workspace.export(stack))["deployment"]["resources"]}
    carriers = []
    for resource in json.loads(workspace.export(stack, "--show-secrets"))["deployment"]["resources"]:
        for kind in ("inputs", "outputs"):
            for key, value in (resource.get(kind) or {}).items():
                if external_id in json.dumps(value):
                    carriers.append((resource["type"], kind, key))
                    stored = json.dumps(plain[resource["urn"]][kind][key])
                    assert SECRET_SIG in stored and external_id not in stored, (resource["urn"], kind, key)
    assert {("aws:cloudformation/stack:Stack", kind, "parameters") for kind in ("inputs", "outputs")} <= set(carriers), \
        carriers
    for show in ((), ("--show-secrets",)):
        assert external_id not in json.dumps(workspace.outputs(stack, *show))


def test_changing_the_vpc_cidr_replaces_the_network_only(deployed: Deployed) -> None:
    """The doubles' Diff follows the real provider: a new VPC CIDR replaces the VPC and the subnets carved from it,
    and nothing that does not depend on it. Previewed with a changed copy of the stack file, so the deployed stack
    and its own file stay as they are."""
    workspace = deployed.workspace
    stack_file = yaml.safe_load((workspace.project / "Pulumi.dev.yaml").read_text())
    stack_file["config"]["clickhouse-aws:vpcCidr"] = "10.43.0.0/16"
    changed = workspace.root / "Pulumi.dev.changed-cidr.yaml"
    changed.write_text(yaml.safe_dump(stack_file))
    run = workspace.preview("dev", "--config-file", str(changed))
    assert run.returncode == 0, run.explain()
    replaced = {e["resourcePreEvent"]["metadata"]["type"] for e in run.events
                if "resourcePreEvent" in e and e["resourcePreEvent"]["metadata"]["op"] == "replace"}
    assert {"aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet"} <= replaced, replaced
    assert not {t for t in replaced if t.startswith(("aws:kms", "aws:secretsmanager", "random:", "clickhouse:index"))}


def test_raising_the_password_version_rotates_the_password_only(deployed: Deployed) -> None:
    """clickhousePasswordVersion: the random password is replaced, the service takes the new hash in place and the
    secret a new version, and nothing stateful is replaced. Previewed from a changed copy of the stack file, as above."""
    workspace = deployed.workspace
    stack_file = yaml.safe_load((workspace.project / "Pulumi.dev.yaml").read_text())
    stack_file["config"]["clickhouse-aws:clickhousePasswordVersion"] = 2
    changed = workspace.root / "Pulumi.dev.rotated.yaml"
    changed.write_text(yaml.safe_dump(stack_file))
    run = workspace.preview("dev", "--config-file", str(changed))
    assert run.returncode == 0, run.explain()
    ops = {}
    for event in run.events:
        if "resourcePreEvent" in event:
            metadata = event["resourcePreEvent"]["metadata"]
            if metadata["op"] not in ("same", "read"):
                ops.setdefault(metadata["type"], set()).add(metadata["op"])
    assert "replace" in ops.pop("random:index/randomPassword:RandomPassword"), ops
    assert ops.pop("clickhouse:index/service:Service") == {"update"}, ops
    assert ops.pop("aws:secretsmanager/secretVersion:SecretVersion"), ops
    # A preview cannot know the updated service's outputs, so what is built from its endpoint configuration (the
    # endpoint, its attachment, the private zone and record, and the alarms and dashboard that name the endpoint)
    # shows as changing; at `up` they keep their values.
    unknown_until_up = {"aws:ec2/vpcEndpoint:VpcEndpoint", "clickhouse:ServicePrivateEndpoints/attachment:Attachment",
                        "aws:route53/zone:Zone", "aws:route53/record:Record",
                        "aws:cloudwatch/metricAlarm:MetricAlarm", "aws:cloudwatch/dashboard:Dashboard"}
    assert set(ops) <= unknown_until_up, f"a rotation changes nothing else: {ops}"


def test_destroy_refuses_a_protected_stack(deployed: Deployed) -> None:
    workspace = deployed.workspace
    protected = [r for r in json.loads(workspace.export("prod"))["deployment"]["resources"] if r.get("protect")]
    assert protected, "prod protects its stateful resources"
    run = workspace.pulumi("destroy", "--yes", stack="prod")
    assert run.returncode != 0, run.explain()
    assert "protected" in run.output
    after = json.loads(workspace.export("prod"))["deployment"]["resources"]
    assert {r["urn"] for r in protected} <= {r["urn"] for r in after}


def test_destroy_tears_dev_down(workspace) -> None:
    workspace.init_stack("dev")
    up = workspace.up("dev")
    assert up.returncode == 0, up.explain()
    run = workspace.pulumi("destroy", "--yes", stack="dev", event_log=True)
    assert run.returncode == 0, run.explain()
    assert run.changes() == {"delete": up.changes()["create"]}
    assert not json.loads(workspace.export("dev"))["deployment"].get("resources")


def test_a_byoc_stack_naming_an_existing_bootstrap_role_deploys_without_the_template(workspace) -> None:
    """byocBootstrap existing: the security team ran ClickHouse's template, so the stack names the role and deploys no
    CloudFormation stack and needs no ExternalId; the pack passes it, the outputs hand over the role, and a second up
    changes nothing. Deployed from a changed copy of the byoc stack file."""
    workspace.init_stack("byoc")
    stack_file = yaml.safe_load((workspace.project / "Pulumi.byoc.yaml").read_text())
    config = stack_file["config"]
    role = f"arn:aws:iam::{ACCOUNT_ID}:role/ClickHouseManagementRole"
    config.update({"clickhouse-aws:byocBootstrap": "existing", "clickhouse-aws:byocManagementRoleArn": role})
    del config["clickhouse-aws:byocExternalId"]
    changed = workspace.root / "Pulumi.byoc.existing-role.yaml"
    changed.write_text(yaml.safe_dump(stack_file))
    up = workspace.up("byoc", "--config-file", str(changed))
    assert up.returncode == 0, up.explain()
    assert not up.mandatory_policies()
    created = {e["resourcePreEvent"]["metadata"]["type"] for e in up.events if "resourcePreEvent" in e}
    assert "aws:cloudformation/stack:Stack" not in created and "aws:kms/key:Key" in created
    byoc = workspace.outputs("byoc")["byoc"]
    assert (byoc["bootstrap_mode"], byoc["role_arns"]["management"]) == ("existing", role)
    again = workspace.up("byoc", "--config-file", str(changed), "--expect-no-changes")
    assert again.returncode == 0, again.explain()
