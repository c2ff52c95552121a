"""The policy pack under the real CLI: every stack previews clean, broken programs are blocked, and the offline gate
(``python -m scripts.preview``) reports exactly what the CLI reports for a stack that is not deployed yet."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from e2e.tests.support import PACK_APPLIED, PROJECT, STACKS, CliRun, Workspace

# The CLI's exit code for an operation that ends on a mandatory policy violation (bail: the report says why).
EXIT_BLOCKED = 1

# A small resource appended to a copy of the program, and the mandatory policies that must block it.
MUTATIONS = {
    "open-ingress": (
        '_e2e_aws.vpc.SecurityGroupIngressRule("e2e-open-ingress", security_group_id=link.client_security_group_id,\n'
        '    cidr_ipv4="0.0.0.0/0", ip_protocol="tcp", from_port=22, to_port=22)\n',
        {"security-group-no-public-ingress"},
    ),
    "public-zone": (
        '_e2e_aws.route53.Zone("e2e-public-zone", name="public.example.com")\n',
        {"route53-zone-private"},
    ),
    "inline-open-ingress": (
        '_e2e_aws.ec2.SecurityGroup("e2e-inline-open", vpc_id=network.vpc_id, description="e2e",\n'
        '    ingress=[{"protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_blocks": ["0.0.0.0/0"]}])\n',
        {"security-group-no-public-ingress"},
    ),
    "resource-in-another-region": (
        '_e2e_aws.sns.Topic("e2e-topic-eu-west-1", region="eu-west-1", kms_master_key_id="alias/aws/sns")\n',
        {"resource-region-matches-stack"},
    ),
    "provider-in-another-region": (
        '_e2e_west = _e2e_aws.Provider("e2e-eu-west-1", region="eu-west-1")\n'
        '_e2e_aws.sns.Topic("e2e-other-region", kms_master_key_id="alias/aws/sns",\n'
        '    opts=pulumi.ResourceOptions(provider=_e2e_west))\n',
        {"resource-region-matches-stack"},
    ),
}


def mutation(name: str) -> str:
    code, _ = MUTATIONS[name]
    return "import pulumi_aws as _e2e_aws\n" + code


@pytest.fixture(scope="module")
def first_previews(deployed) -> dict[str, Any]:
    """``pulumi preview`` with the policy pack of every stack, before anything was deployed."""
    return deployed.first_previews


def previewed_urns(run) -> set[str]:
    """URNs of the program's resources in a preview: what the program registered, without the stack and the
    default providers the engine adds itself."""
    urns = {e["resourcePreEvent"]["metadata"]["urn"] for e in run.events if "resourcePreEvent" in e}
    return {u for u in urns if "::pulumi:providers:" not in u and not u.endswith(f"::pulumi:pulumi:Stack::{PROJECT}-"
                                                                               + u.split(":")[2])}


def analyzer_findings(verdict: dict[str, Any]) -> set[tuple[str, str, str]]:
    """The offline gate's findings that came from the policy pack (its own wire checks have no CLI counterpart)."""
    return {(v["policy"], v["urn"], v["level"]) for v in verdict["violations"] if v["source"] == "analyzer"}


@pytest.mark.parametrize("stack", STACKS)
def test_preview_with_the_policy_pack_passes(first_previews, stack: str) -> None:
    run = first_previews[stack]
    assert run.returncode == 0, run.explain()
    assert run.mandatory_policies() == set()
    # The pack really ran: the CLI lists it among the packs it applied.
    assert PACK_APPLIED.search(run.stdout), run.explain()


@pytest.mark.parametrize("stack", STACKS)
def test_offline_gate_reports_what_the_cli_reports_on_a_first_deploy(first_previews, gate, stack: str) -> None:
    offline = gate(stack, first_deploy=True)
    run = first_previews[stack]
    assert offline["exit_code"] == run.returncode == 0
    assert run.policy_findings() == analyzer_findings(offline)
    assert offline["violations"] == [v for v in offline["violations"] if v["source"] == "analyzer"], \
        "the gate found plaintext secrets on the wire"
    # The same resources, with the same types, names and parents (a URN encodes all three).
    assert previewed_urns(run) == {r["urn"] for r in offline["resources"]}


@pytest.fixture(scope="module")
def blocked(tmp_path_factory: pytest.TempPathFactory, cli_bin: Path) -> dict[str, tuple[Workspace, CliRun]]:
    """Each mutation previewed in a dev stack of its own and judged by the offline gate in the same copy, and the open
    ingress also put through ``pulumi up``; side by side, since nothing is shared."""

    def attempt(key: tuple[str, str], root: Path) -> tuple[Workspace, CliRun]:
        operation, name = key
        workspace = Workspace(root, cli_bin)
        workspace.init_stack("dev")
        workspace.append_to_program(mutation(name))
        if operation == "gate":
            # The copy carries scripts/, so the offline gate judges the mutated program with the same stack file.
            return workspace, workspace.python("-m", "scripts.preview", "--stack", "dev", "--json", "--first-deploy")
        return workspace, (workspace.preview if operation == "preview" else workspace.up)("dev")

    keys = [(operation, name) for name in MUTATIONS for operation in ("preview", "gate")] + [("up", "open-ingress")]
    # The directories first, in this thread: pytest's mktemp is not safe to call from several threads at once (calls
    # racing each other fail with "<name> is not a normalized and relative path", reproduced with 8 threads).
    roots = [tmp_path_factory.mktemp(f"{operation}-{name}") for operation, name in keys]
    with ThreadPoolExecutor(4) as pool:
        return dict(zip(keys, pool.map(attempt, keys, roots)))


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_a_mutated_program_is_blocked_with_the_policy_names(blocked, name: str) -> None:
    _, run = blocked["preview", name]
    assert run.returncode == EXIT_BLOCKED, run.explain()
    _, expected = MUTATIONS[name]
    assert expected <= run.mandatory_policies(), run.explain()
    blocked_urns = {urn for _, urn, level in run.policy_findings() if level == "mandatory"}
    assert all("::e2e-" in urn for urn in blocked_urns), f"only the added resources are blocked: {blocked_urns}"
    for policy in expected:
        assert policy in run.stdout


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_offline_gate_blocks_a_mutated_program_as_the_cli_does(blocked, name: str) -> None:
    _, cli = blocked["preview", name]
    _, gate_run = blocked["gate", name]
    verdict = json.loads(gate_run.stdout)
    assert gate_run.returncode == verdict["exit_code"] == EXIT_BLOCKED, gate_run.explain()
    assert analyzer_findings(verdict) == cli.policy_findings()


def test_up_of_a_blocked_program_changes_nothing(blocked) -> None:
    workspace, run = blocked["up", "open-ingress"]
    assert run.returncode == EXIT_BLOCKED, run.explain()
    assert "security-group-no-public-ingress" in run.mandatory_policies()
    deployment = json.loads(workspace.export("dev"))["deployment"]
    assert not deployment.get("resources"), "a blocked up must not create anything"
