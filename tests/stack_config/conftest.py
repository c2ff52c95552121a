"""Fixtures of the stack_config tests: a real stack file's config, as the CLI would pass it, loaded directly.

No program runs here: ``stack_config.load`` reads the config mapping ``scripts.offline.engine.load_stack_config`` builds from
Pulumi.yaml, the stack file and the overrides. That the program declares nothing on a config error is tested once,
through the engine, in test_stack.py.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Optional

import pytest

import stack_config
from scripts.offline.engine import load_stack_config

Overrides = Optional[Mapping[str, Any]]


def _qualified(overrides: Overrides) -> dict[str, Any]:
    """Bare names mean clickhouse-aws: keys."""
    return {k if ":" in k else f"clickhouse-aws:{k}": v for k, v in (overrides or {}).items()}


@pytest.fixture
def load() -> Callable[..., stack_config.StackConfig]:
    """``load(overrides, stack="dev")``: the stack file's config with ``overrides``, read and checked."""

    def load_(overrides: Overrides = None, stack: str = "dev") -> stack_config.StackConfig:
        config, _ = load_stack_config(stack, _qualified(overrides))
        return stack_config.load(stack, config)

    return load_


@pytest.fixture
def problems(load) -> Callable[..., list[str]]:
    """``problems(overrides, stack="dev")``: every problem line of the ConfigError the config raises."""

    def problems_(overrides: Overrides = None, stack: str = "dev") -> list[str]:
        with pytest.raises(stack_config.ConfigError) as raised:
            load(overrides, stack)
        return raised.value.problems

    return problems_


@pytest.fixture
def problem(problems) -> Callable[..., str]:
    """``problem(key, overrides, stack="dev")``: the one problem the config has, which must be about ``key``."""

    def problem_(key: str, overrides: Overrides = None, stack: str = "dev") -> str:
        found = problems(overrides, stack)
        assert len(found) == 1, found
        prefix = key if ":" in key else f"clickhouse-aws:{key}"
        assert found[0].startswith(f"{prefix}: "), found[0]
        return found[0].removeprefix(f"{prefix}: ")

    return problem_
