"""``python -m scripts.stack`` for real: the Automation API drives the built CLI, with the policy pack attached, and
every outcome ends in the exit code docs/automation.md documents.

The dev lifecycle (preview, up, outputs, refresh, destroy) runs in order in one fixture on this module's own
workspace; prod is the session's deployed stack, which the script may only read or be refused. No test depends on
another's order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from e2e.tests.support import PACK_APPLIED, CliRun
from scripts.stack.errors import ExitCode

OPEN_INGRESS = (
    "import pulumi_aws as _e2e_aws\n"
    '_e2e_aws.vpc.SecurityGroupIngressRule("e2e-open-ingress", security_group_id=link.client_security_group_id,\n'
    '    cidr_ipv4="0.0.0.0/0", ip_protocol="tcp", from_port=22, to_port=22)\n'
)


def stack_script(workspace, *args: str, **kwargs: Any) -> CliRun:
    return workspace.python("-m", "scripts.stack", *args, **kwargs)


def summary(run: CliRun) -> dict[str, Any]:
    """The one JSON document ``--json`` prints on stdout (the CLI's progress goes to stderr)."""
    return json.loads(run.stdout)


@dataclass
class Lifecycle:
    """What each step of the dev lifecycle returned, and what the CLI itself saw in between."""

    workspace: Any
    no_passphrase: CliRun
    preview: CliRun
    up: CliRun
    outputs_after_up: dict[str, Any]
    outputs_json: CliRun
    outputs_env: CliRun
    refresh: CliRun
    destroy: CliRun
    resources_after_destroy: list[Any]


@pytest.fixture(scope="module")
def lifecycle(module_workspace) -> Lifecycle:
    """The dev stack through the script, step by step in the order an operator runs them. The steps run here, in
    order, and the tests only read what each returned, so they hold in any test order."""
    ws = module_workspace
    ws.init_stack("dev")
    no_passphrase = stack_script(ws, "preview", "--stack", "dev", unset=("PULUMI_CONFIG_PASSPHRASE",))
    preview = stack_script(ws, "preview", "--stack", "dev", "--json")
    up = stack_script(ws, "up", "--stack", "dev", "--json")
    outputs_after_up = ws.outputs("dev")
    outputs_json = stack_script(ws, "outputs", "--stack", "dev")
    outputs_env = stack_script(ws, "outputs", "--stack", "dev", "--format", "env")
    refresh = stack_script(ws, "refresh", "--stack", "dev", "--json")
    destroy = stack_script(ws, "destroy", "--stack", "dev", "--json")
    after = json.loads(ws.export("dev"))["deployment"].get("resources") or []
    return Lifecycle(ws, no_passphrase, preview, up, outputs_after_up, outputs_json, outputs_env, refresh, destroy,
                     after)


def test_without_a_passphrase_nothing_runs(lifecycle: Lifecycle) -> None:
    run = lifecycle.no_passphrase
    assert run.returncode == ExitCode.CREDENTIALS, run.explain()
    assert run.stderr.startswith("error: ") and "Traceback" not in run.output


def test_preview_runs_the_policy_pack(lifecycle: Lifecycle, deployed) -> None:
    run = lifecycle.preview
    assert run.returncode == ExitCode.OK, run.explain()
    result = summary(run)
    assert result["ok"] and set(result["resource_changes"]) == {"create"}
    # The pack judged the stack, and the script reports exactly what `pulumi preview` reports for the same program.
    assert PACK_APPLIED.search(run.stderr), run.explain()
    assert {(v["policy"], v["resource"], v["enforcement_level"]) for v in result["policy_violations"]} == \
        deployed.first_previews["dev"].policy_findings()


def test_up_applies_and_reports_the_outputs(lifecycle: Lifecycle) -> None:
    run = lifecycle.up
    assert run.returncode == ExitCode.OK, run.explain()
    result = summary(run)
    assert result["resource_changes"] == summary(lifecycle.preview)["resource_changes"]
    assert result["outputs"] == lifecycle.outputs_after_up
    assert result["outputs"]["clickhouse_url"].startswith("https://")


def test_outputs_as_json_and_as_an_env_file(lifecycle: Lifecycle) -> None:
    run, env = lifecycle.outputs_json, lifecycle.outputs_env
    assert run.returncode == ExitCode.OK, run.explain()
    outputs = json.loads(run.stdout)
    assert outputs == lifecycle.outputs_after_up
    assert env.returncode == ExitCode.OK, env.explain()
    assert f"CLICKHOUSE_VPC_ID={outputs['vpc_id']}" in env.stdout.splitlines()


def test_refresh_finds_the_cloud_as_the_state_says(lifecycle: Lifecycle) -> None:
    run = lifecycle.refresh
    assert run.returncode == ExitCode.OK, run.explain()
    assert summary(run)["resource_changes"] == {"same": summary(lifecycle.up)["resource_changes"]["create"]}


def test_destroy_tears_dev_down(lifecycle: Lifecycle) -> None:
    run = lifecycle.destroy
    assert run.returncode == ExitCode.OK, run.explain()
    assert summary(run)["resource_changes"] == {"delete": summary(lifecycle.up)["resource_changes"]["create"]}
    assert lifecycle.resources_after_destroy == []


def test_up_of_a_blocked_program_applies_nothing(workspace) -> None:
    workspace.init_stack("dev")
    workspace.append_to_program(OPEN_INGRESS)
    run = stack_script(workspace, "up", "--stack", "dev", "--json")
    assert run.returncode == ExitCode.POLICY_VIOLATION, run.explain()
    mandatory = {v["policy"] for v in summary(run)["policy_violations"] if v["enforcement_level"] == "mandatory"}
    assert mandatory == {"security-group-no-public-ingress"}
    assert not json.loads(workspace.export("dev"))["deployment"].get("resources")


def test_a_missing_stack_is_reported_as_such(workspace) -> None:
    run = stack_script(workspace, "outputs", "--stack", "dev")
    assert run.returncode == ExitCode.STACK_NOT_FOUND, run.explain()


def test_prod_up_without_yes_previews_and_stops(deployed) -> None:
    run = stack_script(deployed.workspace, "up", "--stack", "prod", "--json")
    assert run.returncode == ExitCode.CONFIRMATION_REQUIRED, run.explain()
    assert summary(run)["resource_changes"] == {"same": sum(deployed.ups["prod"].changes().values())}


def test_destroy_refuses_the_protected_prod_stack(deployed) -> None:
    before = deployed.workspace.export("prod")
    run = stack_script(deployed.workspace, "destroy", "--stack", "prod", "--yes")
    assert run.returncode == ExitCode.PROTECTED_RESOURCES, run.explain()
    assert "protected resource(s)" in run.stderr
    assert json.loads(deployed.workspace.export("prod"))["deployment"]["resources"] == \
        json.loads(before)["deployment"]["resources"]
