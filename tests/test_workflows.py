"""The GitHub workflows: valid against GitHub's workflow schema (vendored by check-jsonschema, checked offline) and
wired the way the project needs: an offline gate on every pull request, and a credentialed OIDC preview per stack."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
# The stacks the repository holds, one Pulumi.<stack>.yaml each.
STACKS = {path.name.split(".")[1] for path in REPO.glob("Pulumi.*.yaml")}
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))


def check(schema: str, *files: Path) -> subprocess.CompletedProcess[str]:
    """Run check-jsonschema with a built-in schema; a dead proxy makes any attempt to fetch fail instead of leak."""
    env = {**os.environ, "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, files)],
                          capture_output=True, text=True, env=env, timeout=120)


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((REPO / ".github" / "workflows" / name).read_text(encoding="utf-8"))
    # YAML 1.1 reads the bare key `on` as True.
    data["on"] = data.pop(True, data.get("on"))
    return data


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job["steps"]


def uses(job: dict[str, Any], action: str) -> dict[str, Any]:
    return next(step for step in steps(job) if step.get("uses", "").startswith(action + "@"))


def test_workflow_files_exist() -> None:
    assert [path.name for path in WORKFLOWS] == ["ci.yml", "preview.yml"]


@pytest.mark.parametrize("schema", ["vendor.github-workflows", "custom.github-workflows-require-timeout"])
def test_workflows_match_the_github_schema(schema: str) -> None:
    done = check(schema, *WORKFLOWS)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_schema_check_rejects_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: pull_request\njobs:\n  x:\n    steps:\n      - run: true\n")  # no runs-on
    done = check("vendor.github-workflows", broken)
    assert done.returncode == 1
    assert "runs-on" in done.stdout + done.stderr


def test_offline_job_gates_every_pull_request_without_credentials() -> None:
    workflow = load("ci.yml")
    assert "pull_request" in workflow["on"]
    assert workflow["permissions"] == {"contents": "read"}
    (job,) = workflow["jobs"].values()
    runs = [step["run"] for step in steps(job) if "run" in step]
    assert runs == ["make install", "make test", "make preview", "make preview STACK=prod", "make preview STACK=byoc"]
    # Every stack in the repository is gated.
    assert {"dev"} | {r.removeprefix("make preview STACK=") for r in runs if "STACK=" in r} == STACKS
    text = (REPO / ".github" / "workflows" / "ci.yml").read_text()
    assert "secrets." not in text and "id-token" not in text and "aws-actions" not in text


def test_credentialed_preview_runs_per_stack_with_policy_and_oidc() -> None:
    workflow = load("preview.yml")
    assert workflow["permissions"]["id-token"] == "write"
    (job,) = workflow["jobs"].values()
    assert set(job["strategy"]["matrix"]["stack"]) == STACKS
    assert job["environment"] == "${{ matrix.stack }}"

    aws = uses(job, "aws-actions/configure-aws-credentials")
    assert aws["uses"] == "aws-actions/configure-aws-credentials@v4"
    assert aws["with"]["role-to-assume"] == "${{ vars.AWS_ROLE_ARN }}"
    assert not {"aws-access-key-id", "aws-secret-access-key"} & set(aws["with"])

    pulumi = uses(job, "pulumi/actions")
    assert pulumi["uses"] == "pulumi/actions@v6"
    assert pulumi["with"]["command"] == "preview"
    assert pulumi["with"]["stack-name"] == "${{ matrix.stack }}"
    assert pulumi["with"]["policyPacks"] == "${{ github.workspace }}/policy"
    assert pulumi["with"]["policyPackConfigs"] == "${{ github.workspace }}/policy/config.${{ matrix.stack }}.json"

    names = [step.get("uses", step.get("run")) for step in steps(job)]
    assert names.index("make install") < names.index(pulumi["uses"])
    assert names.index(aws["uses"]) < names.index(pulumi["uses"])
    assert "AWS_SECRET_ACCESS_KEY" not in (REPO / ".github" / "workflows" / "preview.yml").read_text()
