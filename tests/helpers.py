"""Assertion helpers over recorded runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from pulumi.runtime import rpc

from scripts.offline.engine import ProgramRun, RecordedResource, run_program

# Sample stack outputs shared by the handoff, audit and stack script tests.
DATA = Path(__file__).resolve().parent / "data"


def config_error(stack: str, overrides: dict[str, Any]) -> str:
    """Run ``stack`` with overrides (bare names mean ``clickhouse-aws:`` keys) and return its config error message."""
    qualified = {k if ":" in k else f"clickhouse-aws:{k}": v for k, v in overrides.items()}
    run = run_program(stack, qualified)
    assert run.error is not None, f"expected a configuration error for {overrides}"
    assert not run.resources, "no resource may be declared when the configuration is invalid"
    return run.error


def wire_value(resource: RecordedResource, prop: str) -> Any:
    """A property as the engine received it: secret values still wrapped in the SDK's secret marker."""
    return rpc.deserialize_properties(resource.wire)[prop]


def is_secret_on_wire(resource: RecordedResource, prop: str) -> bool:
    return rpc.is_rpc_secret(wire_value(resource, prop))


def plain_wire_strings(run: ProgramRun) -> Iterator[tuple[str, str]]:
    """Every string the engine would receive NOT marked secret: resource inputs and stack outputs."""

    def walk(where: str, value: Any) -> Iterator[tuple[str, str]]:
        if rpc.is_rpc_secret(value):
            return
        if isinstance(value, str):
            yield where, value
        elif isinstance(value, dict):
            for k, v in value.items():
                yield from walk(f"{where}.{k}", v)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                yield from walk(f"{where}[{i}]", v)

    for r in run.resources:
        yield from walk(r.urn, rpc.deserialize_properties(r.wire))
    yield from walk("stack outputs", rpc.deserialize_properties(run.outputs_wire))


def generated_password(run: ProgramRun) -> str:
    return run.one("random:index/randomPassword:RandomPassword").outputs["result"]


def by_name(run: ProgramRun, type_: str) -> dict[str, RecordedResource]:
    return {r.name: r for r in run.of_type(type_)}
