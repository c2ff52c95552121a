"""Offline policy gate: run a stack's program under the mock engine and judge it with the policy pack.

    python -m scripts.preview --stack dev|prod [--json]

The program runs in-process with the stack's real config file (``scripts.engine.run_program``); the policy pack runs
as one analyzer subprocess, started exactly as the Pulumi CLI starts it and fed what the CLI would send: one
``Analyze`` per custom resource (with its provider, default providers synthesized from stack config), then one
``AnalyzeStack`` over the whole graph including the root stack resource and its outputs. The pack is configured with
``policy/config.<stack>.json``, the same file ``pulumi up --policy-pack-config`` takes.

The pack cannot see which values were marked secret (pulumi-policy unwraps them), so the gate itself checks the wire
form of every input and output with the pack's ``credentials.plaintext_findings`` and reports findings as
``no-plaintext-secrets``.

Exit codes: 0 no mandatory violation (advisories allowed), 1 a mandatory violation, 2 a config error (the stack's or
the policy pack's), an analyzer failure or a crash of the program, 130 interrupted. The analyzer process is stopped
on every path.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Sequence

from google.protobuf import json_format
from pulumi.runtime import rpc

from policy.clickhouse_aws_policy.credentials import plaintext_findings
from scripts.analyzer import (
    PACK_DIR,
    Analyzer,
    AnalyzerError,
    Diagnostic,
    PolicyConfigError,
    Providers,
    analyze_request,
    analyzer_env,
    stack_resources,
)
from scripts.engine import ProgramRun, RecordedResource, StackFileError, load_stack_config, project_name, run_program
from stack_config.byoc import TAILSCALE_EGRESS

EXIT_OK, EXIT_VIOLATION, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130
PLAINTEXT_POLICY = "no-plaintext-secrets"


@dataclass
class Timings:
    """Wall-clock seconds: the program under mocks, the extra wait for the pack to boot, and the analysis."""

    program: float = 0.0
    analyzer_wait: float = 0.0
    analysis: float = 0.0
    total: float = 0.0


@dataclass
class GateResult:
    stack: str
    exit_code: int
    error: Optional[str] = None
    run: Optional[ProgramRun] = None
    violations: list[Diagnostic] = field(default_factory=list)
    timings: Timings = field(default_factory=Timings)
    analyzer_pid: Optional[int] = None

    def at_level(self, level: str) -> list[Diagnostic]:
        return [v for v in self.violations if v.level == level]

    @property
    def mandatory(self) -> list[Diagnostic]:
        return self.at_level("mandatory")

    def policies(self, level: str = "mandatory") -> set[str]:
        return {v.policy for v in self.at_level(level)}


def load_policy_config(stack: str) -> dict[str, Any]:
    """``policy/config.<stack>.json``, the file ``--policy-pack-config`` takes."""
    path = PACK_DIR / f"config.{stack}.json"
    try:
        config = json.loads(path.read_text())
    except FileNotFoundError:
        raise PolicyConfigError(f"no policy pack config policy/{path.name} for stack {stack!r}") from None
    except json.JSONDecodeError as err:
        raise PolicyConfigError(f"{path.name} is not valid JSON: {err}") from None
    if not isinstance(config, dict):
        raise PolicyConfigError(f"{path.name} must hold a JSON object keyed by policy name")
    return config


def _wire_findings(run: ProgramRun, levels: Mapping[str, str]) -> list[Diagnostic]:
    """Secrets the program let travel in plaintext, judged on the wire values the pack never sees."""
    level = levels.get(PLAINTEXT_POLICY, "mandatory")
    if level == "disabled":
        return []
    secret_values = [run.config[k] for k in run.secret_keys if k in run.config]
    sources = [(r.urn, "input", r.wire) for r in run.resources]
    sources.append((run.stack_urn, "stack output", run.outputs_wire))
    return [
        Diagnostic(PLAINTEXT_POLICY, level, urn, f"{what} {finding}", "critical", source="gate")
        for urn, what, wire in sources
        for finding in plaintext_findings(json_format.MessageToDict(wire), secret_values)
    ]


def evaluate(run: ProgramRun, analyzer: Analyzer, policy_config: Mapping[str, Any]) -> list[Diagnostic]:
    """Configure the pack, analyze every custom resource, then the stack; add the gate's own wire findings."""
    analyzer.configure(policy_config)
    analyzer.configure_stack(run.project, run.stack, run.config, run.secret_keys)
    providers = Providers(run)
    diagnostics: list[Diagnostic] = []
    for resource in run.resources:
        if resource.custom:
            diagnostics.extend(analyzer.analyze(analyze_request(resource, providers)))
    diagnostics.extend(analyzer.analyze_stack(stack_resources(run, providers), run.stack_urn))
    diagnostics.extend(_wire_findings(run, analyzer.levels))
    return diagnostics


def gate(
    stack: str,
    overrides: Optional[Mapping[str, Any]] = None,
    mutate: Optional[Callable[[ProgramRun], None]] = None,
    *,
    analyzer: Optional[Analyzer] = None,
    policy_config: Optional[Mapping[str, Any]] = None,
    first_deploy: bool = False,
) -> GateResult:
    """Run ``stack``'s program, let ``mutate`` edit the recorded run, and judge it with the policy pack.

    Without ``analyzer``, starts exactly one pack process (booting while the program runs) and stops it before
    returning, whatever happens. ``policy_config`` replaces ``policy/config.<stack>.json``. ``first_deploy`` judges
    the program as ``pulumi preview`` sees a stack that does not exist yet: every computed output unknown.
    """
    started = time.perf_counter()
    result = GateResult(stack, EXIT_ERROR)
    try:
        config, secret_keys = load_stack_config(stack, overrides)
        policy_config = load_policy_config(stack) if policy_config is None else policy_config
        if analyzer is not None:
            _judge(result, stack, overrides, mutate, analyzer, policy_config, first_deploy)
        else:
            env = analyzer_env(project_name(), stack, config, secret_keys)
            with Analyzer(env) as own:
                result.analyzer_pid = own.pid
                _judge(result, stack, overrides, mutate, own, policy_config, first_deploy)
    except (StackFileError, PolicyConfigError, AnalyzerError) as err:
        result.error, result.exit_code = str(err), EXIT_ERROR
    result.timings.total = time.perf_counter() - started
    return result


def _judge(
    result: GateResult,
    stack: str,
    overrides: Optional[Mapping[str, Any]],
    mutate: Optional[Callable[[ProgramRun], None]],
    analyzer: Analyzer,
    policy_config: Mapping[str, Any],
    first_deploy: bool,
) -> None:
    t0 = time.perf_counter()
    run = run_program(stack, overrides, first_preview=first_deploy)
    t1 = time.perf_counter()
    result.run, result.timings.program = run, t1 - t0
    if run.error:
        result.error, result.exit_code = run.error, EXIT_ERROR
        return
    if mutate is not None:
        mutate(run)
    analyzer.connect()
    t2 = time.perf_counter()
    result.timings.analyzer_wait = t2 - t1
    result.violations = evaluate(run, analyzer, policy_config)
    result.timings.analysis = time.perf_counter() - t2
    result.exit_code = EXIT_VIOLATION if result.mandatory else EXIT_OK


# --- output ----------------------------------------------------------------------------------------------------

# Inputs worth seeing at a glance, with the short label each is printed under.
_SHOWN = (
    ("region", "region"), ("cidrBlock", "cidr"), ("cidrIpv4", "cidr"), ("cidrIpv6", "cidr"),
    ("availabilityZone", "az"), ("vpcEndpointType", "type"), ("serviceName", "service"),
    ("serviceRegion", "service-region"), ("privateDnsEnabled", "private-dns"), ("ipProtocol", "proto"),
    ("ports", "ports"), ("ipAccesses", "ip-access"), ("cloudProvider", "cloud"), ("mapPublicIpOnLaunch", "public-ip"),
    ("internal", "internal"), ("enableKeyRotation", "rotation"), ("retentionInDays", "retention"),
    ("trafficType", "traffic"), ("type", "type"), ("name", "name"), ("bucket", "bucket"),
)


def _render(value: Any) -> str:
    if rpc.is_rpc_secret(value):
        return "[secret]"
    if value == rpc.UNKNOWN:
        return "(known after apply)"
    if isinstance(value, list):
        return "[" + ", ".join(_render(v) for v in value) + "]" if value else "none"
    if isinstance(value, dict):
        return "{…}"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def settings_summary(resource: RecordedResource) -> str:
    """A few key settings of a resource, from its wire inputs so secrets print as [secret]."""
    wire = json_format.MessageToDict(resource.wire)
    if "fromPort" in wire:
        low, high = _render(wire.get("fromPort")), _render(wire.get("toPort"))
        wire["ports"] = low if low == high else f"{low}-{high}"
    if isinstance(wire.get("ipAccesses"), list):
        wire["ipAccesses"] = [a.get("source") if isinstance(a, dict) else a for a in wire["ipAccesses"]]
    return "  ".join(f"{label}={_render(wire[key])}" for key, label in _SHOWN if key in wire)


def print_tree(run: ProgramRun, out: Any) -> None:
    children: dict[str, list[RecordedResource]] = {}
    for r in run.resources:
        children.setdefault(r.parent or run.stack_urn, []).append(r)

    def walk(urn: str, indent: str) -> None:
        kids = children.get(urn, [])
        for index, r in enumerate(kids):
            last = index == len(kids) - 1
            summary = settings_summary(r)
            branch = "└─ " if last else "├─ "
            out.write(f"{indent}{branch}{r.type} {r.name}{'  ' + summary if summary else ''}\n")
            walk(r.urn, indent + ("   " if last else "│  "))

    out.write(f"pulumi:pulumi:Stack {run.project}-{run.stack}  region={run.aws_region or '(unset)'}\n")
    walk(run.stack_urn, "")


def summary_line(result: GateResult) -> str:
    if result.error:
        return f"{result.stack}: not analyzed (configuration or analyzer error)"
    resources = len(result.run.resources) if result.run else 0
    mandatory, advisory = len(result.mandatory), len(result.at_level("advisory"))
    verdict = "BLOCKED" if result.exit_code == EXIT_VIOLATION else "passed"
    return (f"{result.stack}: {resources} resources, {mandatory} mandatory and {advisory} advisory violation(s) "
            f"- {verdict} in {result.timings.total:.2f}s")


def print_human(result: GateResult, out: Any = None) -> None:
    out = out or sys.stdout
    if result.error:
        sys.stderr.write(f"error: {result.error}\n")
    if result.run is not None and not result.run.error:
        print_tree(result.run, out)
        out.write("\n")
    order = {"mandatory": 0, "advisory": 1}
    for v in sorted(result.violations, key=lambda v: (order.get(v.level, 2), v.policy, v.urn)):
        severity = f", {v.severity}" if v.severity else ""
        out.write(f"[{v.level}{severity}] {v.policy}\n    {v.urn}\n")
        for line in v.message.splitlines():
            out.write(f"    {line}\n")
    if result.violations:
        out.write("\n")
    for note in advisories(result):
        out.write(f"advisory: {note}\n")
    out.write(summary_line(result) + "\n")


def advisories(result: GateResult) -> list[str]:
    """What the configuration accepts knowingly and a reviewer should see: BYOC without egress."""
    byoc = result.run.outputs.get("byoc") if result.run is not None and not result.run.error else None
    if isinstance(byoc, dict) and byoc.get("egress") == "none":
        return [f"{result.stack}: BYOC with egress none (byocEgressNoneAcknowledged): ClickHouse's components need "
                f"outbound {TAILSCALE_EGRESS} for Tailscale through a path outside this stack"]
    return []


def as_json(result: GateResult) -> dict[str, Any]:
    run = result.run if result.run is not None and not result.run.error else None
    return {
        "stack": result.stack,
        "exit_code": result.exit_code,
        "passed": result.exit_code == EXIT_OK,
        "error": result.error,
        "summary": {
            "resources": len(run.resources) if run else 0,
            "mandatory": len(result.mandatory),
            "advisory": len(result.at_level("advisory")),
        },
        "violations": [v.as_dict() for v in result.violations],
        "advisories": advisories(result),
        "resources": [{"urn": r.urn, "type": r.type, "name": r.name, "parent": r.parent} for r in run.resources]
        if run else [],
        "timings": dict(result.timings.__dict__),
    }


def _terminate(signum: int, _frame: Any) -> None:
    # SIGTERM would otherwise end the process without unwinding, leaving the analyzer running.
    raise SystemExit(128 + signum)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.preview", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True, help="stack name, e.g. dev or prod")
    parser.add_argument("--json", action="store_true", help="print a machine-readable result instead")
    parser.add_argument("--first-deploy", action="store_true",
                        help="judge the stack as a first `pulumi preview` sees it: every computed output unknown")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        result = gate(args.stack, first_deploy=args.first_deploy)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted; the policy pack was stopped\n")
        return EXIT_INTERRUPTED
    except Exception as err:  # noqa: BLE001 - a crash in the program under test is reported, not a verdict
        where = traceback.extract_tb(err.__traceback__)[-1]
        sys.stderr.write(f"error: the run failed with {type(err).__name__}: {err}\n"
                         f"  at {where.filename}:{where.lineno}; the policy pack was stopped\n")
        return EXIT_ERROR
    if args.json:
        json.dump(as_json(result), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print_human(result)
    return result.exit_code


if __name__ == "__main__":
    exit_code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # The pack is already stopped; skipping interpreter finalization (tearing down the pulumi_aws module graph
    # costs ~0.3 s) keeps the gate inside its time budget.
    os._exit(exit_code)
