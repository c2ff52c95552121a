"""Fixtures of the e2e suite (the harness itself is in support.py)."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from e2e.tests.support import REPO, STACKS, Deployed, OfflineGate, Workspace


@pytest.fixture(scope="session")
def cli_bin() -> Path:
    """The directory of the pinned CLI and language host, built on first use (e2e/cli/ensure-cli)."""
    proc = subprocess.run([str(REPO / "e2e" / "cli" / "ensure-cli")], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail(f"could not provide a Pulumi CLI:\n{proc.stderr}", pytrace=False)
    sys.stderr.write(proc.stderr)
    return Path(proc.stdout.strip().splitlines()[-1])


@pytest.fixture
def workspace(tmp_path: Path, cli_bin: Path) -> Workspace:
    return Workspace(tmp_path, cli_bin)


@pytest.fixture(scope="module")
def module_workspace(tmp_path_factory: pytest.TempPathFactory, cli_bin: Path) -> Workspace:
    """One workspace shared by a module's tests."""
    return Workspace(tmp_path_factory.mktemp("workspace"), cli_bin)


@pytest.fixture(scope="session")
def gate() -> Any:
    """The offline gate's verdict per (stack, first_deploy). All of them start at once in the background, so they run
    while the CLI deploys; each is awaited on first use."""
    runs = {(stack, first): OfflineGate(stack, first) for stack in STACKS for first in (False, True)}
    yield lambda stack, first_deploy=False: runs[stack, first_deploy].verdict()
    for run in runs.values():
        run.stop()


@pytest.fixture(scope="session")
def deployed(tmp_path_factory: pytest.TempPathFactory, cli_bin: Path, gate: Any) -> Deployed:
    """Every stack, once per session: previewed before anything exists, deployed, deployed again with nothing to
    change, and previewed again. Shared by the tests that read what happened or are refused a change, in whatever
    order they run. The stacks go side by side (one backend, one lock per stack), as two operators' would."""
    deployed = Deployed(Workspace(tmp_path_factory.mktemp("deployed"), cli_bin))

    def deploy(stack: str) -> None:
        workspace = deployed.workspace
        deployed.secrets[stack] = workspace.init_stack(stack)
        deployed.first_previews[stack] = workspace.preview(stack)
        deployed.ups[stack] = workspace.up(stack)
        deployed.passwords[stack] = workspace.password(stack)
        deployed.second_ups[stack] = workspace.up(stack, "--expect-no-changes")
        deployed.passwords_after_second_up[stack] = workspace.password(stack)
        deployed.previews[stack] = workspace.preview(stack)

    with ThreadPoolExecutor(len(STACKS)) as pool:
        list(pool.map(deploy, STACKS))
    return deployed
