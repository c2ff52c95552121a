"""Offline policy gate: run a stack's program under the mock engine and judge it with the policy pack.

    python -m scripts.preview --stack <stack> [--json] [--first-deploy] [--timings]

The program runs in-process with the stack's real config file (``scripts.offline.engine.run_program``); the policy
pack runs as one analyzer subprocess, started exactly as the Pulumi CLI starts it and fed what the CLI would send: one
``Analyze`` per custom resource (with its provider, default providers synthesized from stack config), then one
``AnalyzeStack`` over the whole graph including the root stack resource and its outputs. The pack is configured with
``policy/config.<stack>.json``, the same file ``pulumi up --policy-pack-config`` takes.

The pack cannot see which values were marked secret (pulumi-policy unwraps them), so the gate itself checks the wire
form of every input and output with the pack's ``credentials.plaintext_findings`` and reports findings as
``no-plaintext-secrets``.

Exit codes: 0 no mandatory violation (advisories allowed), 1 a mandatory violation, 2 a config error (the stack's or
the policy pack's), an analyzer failure or a crash of the program, 130 interrupted (SIGINT), 143 terminated (SIGTERM).
The analyzer process is stopped on every path.

The tree and the report are sorted, so the same input prints the same bytes; wall-clock timings appear only with
``--timings``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import queue
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Sequence

from google.protobuf import json_format
from pulumi.runtime import rpc

from policy.clickhouse_aws_policy.credentials import plaintext_findings
from scripts.offline.analyzer import (
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
from scripts.offline.engine import (
    ProgramRun, RecordedResource, StackFileError, load_stack_config, project_name, run_program,
)
from stack_config.byoc import TAILSCALE_EGRESS

EXIT_OK, EXIT_VIOLATION, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130
PLAINTEXT_POLICY = "no-plaintext-secrets"


@dataclass
class Timings:
    """Wall-clock seconds: the program under mocks (the pack boots and judges resources meanwhile), the wait after it
    for the pack to take every resource (booting, if it still was), then the answers and the whole-stack analysis."""

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


class Analysis:
    """The pack's verdict on one run, gathered while the program still runs.

    The CLI judges each resource as the engine steps through it, during the program. So does the gate: the first
    ``submit`` starts a thread that configures the pack as soon as it is up and sends an Analyze per custom resource
    without waiting for the answer, so the pack works on another core while the program continues. ``finish`` then
    collects the answers, sends AnalyzeStack over the whole graph and adds the gate's own wire findings. Used as a
    context manager, the thread never outlives the ``with`` block on a normal exit.
    """

    def __init__(self, analyzer: Analyzer, policy_config: Mapping[str, Any], project: str, stack: str,
                 config: Mapping[str, str], secret_keys: list[str]):
        self._analyzer = analyzer
        self._policy_config = policy_config
        self._stack_config = (project, stack, dict(config), list(secret_keys))
        self._providers = Providers(project, stack, config, secret_keys)
        self._queue: queue.SimpleQueue[Optional[RecordedResource]] = queue.SimpleQueue()
        self._answers: list[Callable[[], list[Diagnostic]]] = []
        self._failure: Optional[BaseException] = None
        self._sender: Optional[threading.Thread] = None
        self._lock = threading.Lock()
        # Seconds finish waited for the pack to take every resource.
        self.waited = 0.0

    def submit(self, resource: RecordedResource) -> None:
        """Judge ``resource``; safe from any thread, and never raises into the program (``finish`` does)."""
        self._start()
        self._queue.put(resource)

    def finish(self, run: ProgramRun) -> list[Diagnostic]:
        """Every diagnostic on ``run``, whose resources have all been submitted."""
        self._start()
        started = time.perf_counter()
        self._close()
        self.waited = time.perf_counter() - started
        if self._failure is not None:
            raise self._failure
        diagnostics = [d for answer in self._answers for d in answer()]
        diagnostics += self._analyzer.analyze_stack(stack_resources(run, self._providers), run.stack_urn)
        return diagnostics + _wire_findings(run, self._analyzer.levels)

    def _start(self) -> None:
        with self._lock:
            if self._sender is None:
                self._sender = threading.Thread(target=self._send, name="policy-analysis", daemon=True)
                self._sender.start()

    def _send(self) -> None:
        try:
            self._analyzer.configure(self._policy_config)
            self._analyzer.configure_stack(*self._stack_config)
            while (resource := self._queue.get()) is not None:
                self._providers.note(resource)
                if resource.custom:
                    self._answers.append(self._analyzer.analyze_later(analyze_request(resource, self._providers)))
        except BaseException as err:  # noqa: BLE001 - handed to the caller's thread by finish
            self._failure = err

    def _close(self, wait: bool = True) -> None:
        if self._sender is not None:
            self._queue.put(None)
            if wait:
                self._sender.join()

    def __enter__(self) -> "Analysis":
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        # After a failure the sender may still wait for the pack to boot; stopping the pack ends it.
        self._close(wait=exc_type is None)


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
        judged = _Judged(stack, overrides, mutate, policy_config, first_deploy, project_name(), config, secret_keys)
        if analyzer is not None:
            _judge(result, judged, analyzer)
        else:
            with Analyzer(analyzer_env(judged.project, stack, config, secret_keys)) as own:
                result.analyzer_pid = own.pid
                _judge(result, judged, own)
    except (StackFileError, PolicyConfigError, AnalyzerError) as err:
        result.error, result.exit_code = str(err), EXIT_ERROR
    result.timings.total = time.perf_counter() - started
    return result


@dataclass(frozen=True)
class _Judged:
    """What one gate run judges: the stack's program with its config, and the pack's config."""

    stack: str
    overrides: Optional[Mapping[str, Any]]
    mutate: Optional[Callable[[ProgramRun], None]]
    policy_config: Mapping[str, Any]
    first_deploy: bool
    project: str
    config: dict[str, str]
    secret_keys: list[str]


def _judge(result: GateResult, judged: _Judged, analyzer: Analyzer) -> None:
    analysis = Analysis(analyzer, judged.policy_config, judged.project, judged.stack, judged.config,
                        judged.secret_keys)
    with analysis:
        t0 = time.perf_counter()
        # A mutation edits the finished run, so then the resources are judged only afterwards.
        on_record = analysis.submit if judged.mutate is None else None
        run = run_program(judged.stack, judged.overrides, first_preview=judged.first_deploy, on_record=on_record)
        t1 = time.perf_counter()
        result.run, result.timings.program = run, t1 - t0
        if run.error:
            result.error, result.exit_code = run.error, EXIT_ERROR
            return
        if judged.mutate is not None:
            judged.mutate(run)
            for resource in run.resources:
                analysis.submit(resource)
        result.violations = analysis.finish(run)
    result.timings.analyzer_wait = analysis.waited
    result.timings.analysis = time.perf_counter() - t1 - analysis.waited
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
    # Sorted: the engine records registrations in the order they complete, which differs from run to run.
    children: dict[str, list[RecordedResource]] = {}
    for r in sorted(run.resources, key=lambda r: (r.type, r.name, r.urn)):
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


def summary_line(result: GateResult, *, timings: bool = False) -> str:
    if result.error:
        return f"{result.stack}: not analyzed (configuration or analyzer error)"
    resources = len(result.run.resources) if result.run else 0
    mandatory, advisory = len(result.mandatory), len(result.at_level("advisory"))
    verdict = "BLOCKED" if result.exit_code == EXIT_VIOLATION else "passed"
    took = f" in {result.timings.total:.2f}s" if timings else ""
    return (f"{result.stack}: {resources} resources, {mandatory} mandatory and {advisory} advisory violation(s) "
            f"- {verdict}{took}")


_LEVEL_ORDER = {"mandatory": 0, "advisory": 1}


def sorted_violations(result: GateResult) -> list[Diagnostic]:
    """Mandatory first, then by policy, resource and message: the analysis order varies with registration order."""
    return sorted(result.violations, key=lambda v: (_LEVEL_ORDER.get(v.level, 2), v.policy, v.urn, v.message))


def print_human(result: GateResult, out: Any = None, *, timings: bool = False) -> None:
    out = out or sys.stdout
    if result.error:
        sys.stderr.write(f"error: {result.error}\n")
    if result.run is not None and not result.run.error:
        print_tree(result.run, out)
        out.write("\n")
    for v in sorted_violations(result):
        severity = f", {v.severity}" if v.severity else ""
        out.write(f"[{v.level}{severity}] {v.policy}\n    {v.urn}\n")
        for line in v.message.splitlines():
            out.write(f"    {line}\n")
    if result.violations:
        out.write("\n")
    for note in advisories(result):
        out.write(f"advisory: {note}\n")
    out.write(summary_line(result, timings=timings) + "\n")


def advisories(result: GateResult) -> list[str]:
    """What the configuration accepts knowingly and a reviewer should see: BYOC without egress."""
    byoc = result.run.outputs.get("byoc") if result.run is not None and not result.run.error else None
    if isinstance(byoc, dict) and byoc.get("egress") == "none":
        return [f"{result.stack}: BYOC with egress none (byocEgressNoneAcknowledged): ClickHouse's components need "
                f"outbound {TAILSCALE_EGRESS} for Tailscale through a path outside this stack"]
    return []


def as_json(result: GateResult, *, timings: bool = False) -> dict[str, Any]:
    run = result.run if result.run is not None and not result.run.error else None
    report = {
        "stack": result.stack,
        "exit_code": result.exit_code,
        "passed": result.exit_code == EXIT_OK,
        "error": result.error,
        "summary": {
            "resources": len(run.resources) if run else 0,
            "mandatory": len(result.mandatory),
            "advisory": len(result.at_level("advisory")),
        },
        "violations": [v.as_dict() for v in sorted_violations(result)],
        "advisories": advisories(result),
        "resources": [{"urn": r.urn, "type": r.type, "name": r.name, "parent": r.parent}
                      for r in sorted(run.resources, key=lambda r: r.urn)] if run else [],
    }
    if timings:
        report["timings"] = dict(result.timings.__dict__)
    return report


# The stop signal received, if any. The exception its handler raises can be lost: raised while an import runs a weakref
# callback (or in any __del__), Python reports it as unraisable and carries on, and the gate would finish as if never
# asked to stop. main() checks this too.
_stopped_by: Optional[int] = None


def _interrupt(signum: int, _frame: Any) -> None:
    global _stopped_by
    _stopped_by = signum
    raise KeyboardInterrupt


def _terminate(signum: int, _frame: Any) -> None:
    global _stopped_by
    _stopped_by = signum
    # SIGTERM would otherwise end the process without unwinding, leaving the analyzer running.
    raise SystemExit(128 + signum)


def _quiet_lost_stop(unraisable: Any) -> None:
    """``sys.unraisablehook``: a stop the handlers above recorded is not printed as an unraisable traceback."""
    if _stopped_by is not None and issubclass(unraisable.exc_type, (KeyboardInterrupt, SystemExit)):
        return
    sys.__unraisablehook__(unraisable)


def _handle_stop_signals() -> None:
    """Stop cleanly on SIGINT and SIGTERM, whatever dispositions the gate inherited.

    A process started with SIGINT ignored (background jobs of a shell without job control, some CI runners) keeps it
    ignored, and Python then installs no KeyboardInterrupt handler: a runner that cancels with SIGINT would wait for
    its SIGKILL, which leaves the policy pack running. The gate owns that process, so it always takes both signals.
    """
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _terminate)
    sys.unraisablehook = _quiet_lost_stop


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.preview", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True, help="a stack with a stack file Pulumi.<stack>.yaml, e.g. dev")
    parser.add_argument("--json", action="store_true", help="print a machine-readable result instead")
    parser.add_argument("--first-deploy", action="store_true",
                        help="judge the stack as a first `pulumi preview` sees it: every computed output unknown")
    parser.add_argument("--timings", action="store_true",
                        help="also report wall-clock timings (the output then differs from run to run)")
    args = parser.parse_args(argv)
    try:
        result = gate(args.stack, first_deploy=args.first_deploy)
        if _stopped_by == signal.SIGINT:
            raise KeyboardInterrupt
        if _stopped_by is not None:
            raise SystemExit(128 + _stopped_by)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted; the policy pack was stopped\n")
        return EXIT_INTERRUPTED
    except Exception as err:  # noqa: BLE001 - a crash in the program under test is reported, not a verdict
        where = traceback.extract_tb(err.__traceback__)[-1]
        sys.stderr.write(f"error: the run failed with {type(err).__name__}: {err}\n"
                         f"  at {where.filename}:{where.lineno}; the policy pack was stopped\n")
        return EXIT_ERROR
    if args.json:
        json.dump(as_json(result, timings=args.timings), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print_human(result, timings=args.timings)
    return result.exit_code


if __name__ == "__main__":
    _handle_stop_signals()
    # A short-lived process. Loading pulumi_aws's service modules builds a large heap that lives as long as the
    # process; the cyclic collector re-traversed it again and again and freed next to nothing: without it the gate
    # takes about a third less CPU and 3 MB more memory. Reference counting still frees everything else.
    gc.disable()
    exit_code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # The pack is already stopped; skipping interpreter finalization (tearing down the pulumi_aws module graph
    # costs ~0.3 s) keeps the gate inside its time budget.
    os._exit(exit_code)
