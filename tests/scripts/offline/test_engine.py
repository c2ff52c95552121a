"""The mock engine itself: what a run leaves behind, and stack files it cannot use."""

from __future__ import annotations

import gc
import threading
import warnings
from pathlib import Path

import pytest

from scripts.offline.engine import REPO, StackFileError, load_stack_config, run_program


def test_a_run_leaves_no_thread_and_no_unclosed_event_loop_behind() -> None:
    before = set(threading.enumerate())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        run = run_program("dev")
        for thread in set(threading.enumerate()) - before:
            thread.join(timeout=10)
        gc.collect()
    assert run.error is None and run.resources
    assert set(threading.enumerate()) <= before
    assert [str(w.message) for w in caught if "event loop" in str(w.message)] == []


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project file, with stack files written by each test."""
    (tmp_path / "Pulumi.yaml").write_text((REPO / "Pulumi.yaml").read_text())
    return tmp_path


@pytest.mark.parametrize("content", [
    "config: [1, 2]\n",
    "- just\n- a list\n",
    "config:\n  aws:region: [unclosed\n",
    b"config:\n  aws:region: \xff\xfe\n",
], ids=["config-not-a-mapping", "not-a-mapping", "not-yaml", "not-utf8"])
def test_an_unusable_stack_file_is_a_stack_file_error(project: Path, content: str | bytes) -> None:
    path = project / "Pulumi.hostile.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(StackFileError, match="Pulumi.hostile.yaml"):
        load_stack_config("hostile", project_dir=project)


def test_an_unknown_stack_names_the_stacks_there_are(project: Path) -> None:
    (project / "Pulumi.qa.yaml").write_text("config: {}\n")
    with pytest.raises(StackFileError, match="no stack file Pulumi.prod.yaml; known stacks: qa$"):
        load_stack_config("prod", project_dir=project)
