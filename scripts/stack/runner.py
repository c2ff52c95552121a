"""The commands of ``scripts.stack``, driving ``pulumi.automation`` through one injectable seam.

``StackFactory`` is the only place a real ``pulumi.automation.Stack`` is made; tests pass a fake and assert the exact
arguments each command hands to ``preview``/``up``/``refresh``/``destroy``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Protocol, TextIO, TypeVar

from pulumi import automation as auto

from scripts.audit import AuditError, AuditReport, run_audit
from scripts.audit.checks import AuditOptions
from scripts.handoff import HandoffError, render_handoff
from scripts.verify.report import Report as VerifyReport
from scripts.verify.report import VerifyError
from scripts.verify.runner import Options as VerifyOptions
from scripts.verify.runner import run_verify
from scripts.stack.errors import AUTOMATION_ERRORS, ExitCode, StackScriptError, cli_missing_error, translate
from scripts.stack.outputs import change_counts, mask_outputs, outputs_json, protected_resources, render_env
from scripts.stack.phases import PhaseStatus, describe, detect_phase
from scripts.stack.settings import Settings, color_for, confirmation_problem, is_protected, policy_arguments

T = TypeVar("T")


class Report(Protocol):
    """What the audit's and the connectivity check's reports share."""

    def to_dict(self) -> dict[str, Any]: ...
    def render(self) -> str: ...


R = TypeVar("R", bound=Report)


class StackHandle(Protocol):
    """The part of ``pulumi.automation.Stack`` these commands use."""

    def preview(self, **kwargs: Any) -> Any: ...
    def up(self, **kwargs: Any) -> Any: ...
    def refresh(self, **kwargs: Any) -> Any: ...
    def destroy(self, **kwargs: Any) -> Any: ...
    def outputs(self) -> Mapping[str, auto.OutputValue]: ...
    def export_stack(self) -> auto.Deployment: ...
    def get_all_config(self) -> Mapping[str, auto.ConfigValue]: ...


@dataclass(frozen=True)
class StackRequest:
    settings: Settings
    # Only commands that bring a new environment up may create the stack; the others report it as unknown.
    create: bool


class StackFactory(Protocol):
    """Opens stacks: the one seam between the commands and ``pulumi.automation``."""

    def check(self) -> None:
        """Raise a ``StackScriptError`` when no stack can be opened at all, before anyone is asked for credentials."""

    def __call__(self, request: StackRequest) -> StackHandle: ...


# Audits the live account against a stack's outputs; tests pass a fake instead of touching AWS.
Auditor = Callable[[dict[str, Any], AuditOptions], AuditReport]
# Checks connectivity to the stack's service from this host (scripts.verify); tests pass a fake or a seam-filled one.
Verifier = Callable[[dict[str, Any], VerifyOptions], VerifyReport]


def audit_live(outputs: dict[str, Any], options: AuditOptions) -> AuditReport:
    return run_audit(outputs, options=options)


def verify_connectivity(outputs: dict[str, Any], options: VerifyOptions) -> VerifyReport:
    return run_verify(outputs, options=options)


class AutomationStacks:
    """Local-program stacks on this repository, with the backend passed to every CLI call through the environment."""

    def check(self) -> None:
        # The Automation API drives the CLI; without it nothing else (a passphrase, credentials) matters yet.
        if shutil.which("pulumi") is None:
            raise cli_missing_error()

    def __call__(self, request: StackRequest) -> StackHandle:
        return _open_automation_stack(request)


def _open_automation_stack(request: StackRequest) -> StackHandle:
    settings = request.settings
    if settings.backend_url.startswith("file://"):
        # The CLI refuses a file backend whose directory does not exist yet. Like the CLI (whose cwd is the
        # project), read the rest of the URL as a path: `file://~/state` and relative paths are allowed.
        state_dir = Path(settings.backend_url.removeprefix("file://")).expanduser()
        (settings.work_dir / state_dir).mkdir(parents=True, exist_ok=True)
    opts = auto.LocalWorkspaceOptions(
        env_vars={"PULUMI_BACKEND_URL": settings.backend_url},
        secrets_provider=settings.secrets_provider,
    )
    open_stack = auto.create_or_select_stack if request.create else auto.select_stack
    try:
        return open_stack(stack_name=settings.stack, work_dir=str(settings.work_dir), opts=opts)
    except FileNotFoundError as exc:
        # LocalWorkspace runs `pulumi version` first; a CLI that vanished from PATH surfaces here.
        raise cli_missing_error() from exc


@dataclass(frozen=True)
class Violation:
    policy: str
    pack: str
    level: str
    message: str
    # The URN from the engine event, or "type: name" as the CLI prints it.
    resource: str | None = None

    @property
    def mandatory(self) -> bool:
        return self.level == "mandatory"

    def as_dict(self) -> dict[str, Any]:
        return {"policy": self.policy, "pack": self.pack, "enforcement_level": self.level,
                "resource": self.resource, "message": self.message}


class PolicyLog:
    """``on_event`` callback that keeps the engine's policy events (``PolicyEvent``), advisory and mandatory."""

    def __init__(self) -> None:
        self.violations: list[Violation] = []

    def __call__(self, event: auto.EngineEvent) -> None:
        policy = event.policy_event
        if policy is not None:
            self.violations.append(Violation(
                policy=policy.policy_name, pack=policy.policy_pack_name, level=policy.enforcement_level,
                message=policy.message.strip(), resource=policy.resource_urn,
            ))


# How the CLI prints policy results:
#   Policies:
#       ❌ clickhouse-aws-policy@v0.1.0 (local: /repo/policy)
#           - [mandatory]  no-nat-gateway  (aws:ec2/natGateway:NatGateway: nat)
_PACK_LINE = re.compile(r"^\s*\S*\s*(?P<pack>[\w.-]+)@v?\S+\s+\(")
_MANDATORY_LINE = re.compile(r"^\s*-\s*\[mandatory\]\s+(?P<policy>\S+)(?:\s+\((?P<resource>[^)]*)\))?")


def violations_from_text(text: str) -> list[Violation]:
    """Mandatory violations from the CLI's printed output, for when no event stream reached us."""
    violations, pack = [], ""
    for line in text.splitlines():
        if header := _PACK_LINE.match(line):
            pack = header.group("pack")
        elif found := _MANDATORY_LINE.match(line):
            violations.append(Violation(policy=found.group("policy"), pack=pack, level="mandatory", message="",
                                        resource=found.group("resource")))
    return violations


def policy_error(command: str, stack: str, violations: list[Violation]) -> StackScriptError:
    listed = "\n".join(
        f"  - {v.policy}{f' on {v.resource}' if v.resource else ''}{f': {v.message}' if v.message else ''}"
        for v in violations
    )
    return StackScriptError(
        ExitCode.POLICY_VIOLATION,
        f"`{command}` on stack '{stack}' stopped: mandatory policy violations, nothing was applied.\n{listed}\n"
        "Fix the program or its config; the policy pack cannot be skipped.",
    )


@dataclass(frozen=True)
class Console:
    """Where things go: CLI progress and notes, error messages, and the command's data (JSON, env file, Markdown)."""

    progress: TextIO
    errors: TextIO
    data: TextIO

    def note(self, text: str) -> None:
        print(text, file=self.progress, flush=True)

    def error(self, text: str) -> None:
        print(text, file=self.errors, flush=True)


@dataclass(frozen=True)
class Options:
    targets: tuple[str, ...] = ()
    refresh: bool = False
    yes: bool = False


@dataclass
class Outcome:
    """What a command found out, kept even when it fails so the --json summary can report it."""

    command: str
    stack: str
    resource_changes: dict[str, int] | None = None
    outputs: dict[str, Any] | None = None
    violations: list[Violation] = field(default_factory=list)
    phase: PhaseStatus | None = None

    def summary(self, code: ExitCode, error: str | None) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "command": self.command,
            "stack": self.stack,
            "ok": code is ExitCode.OK,
            "exit_code": int(code),
            "error": error,
            "resource_changes": self.resource_changes,
            "policy_violations": [v.as_dict() for v in self.violations],
        }
        if self.outputs is not None:
            doc["outputs"] = self.outputs
        if self.phase is not None:
            doc["phases"] = self.phase.as_dict()
        return doc


def write_output(text: str, path: str | None, data: TextIO, *, private: bool = False) -> None:
    """Write to ``path`` (owner-only when it holds secrets), or to the data stream."""
    if path is None:
        data.write(text)
        data.flush()
        return
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    with os.fdopen(os.open(path, flags, 0o600 if private else 0o644), "w", encoding="utf-8") as handle:
        handle.write(text)


class Runner:
    """One command on one stack."""

    def __init__(self, command: str, settings: Settings, factory: StackFactory, console: Console,
                 options: Options = Options(), auditor: Auditor = audit_live,
                 verifier: Verifier = verify_connectivity) -> None:
        self.command = command
        self.settings = settings
        self.factory = factory
        self.auditor = auditor
        self.verifier = verifier
        self.console = console
        self.options = options
        self.outcome = Outcome(command=command, stack=settings.stack)

    # -- plumbing ---------------------------------------------------------------------------------------------------

    @contextmanager
    def _translated(self, operation: str) -> Iterator[None]:
        try:
            yield
        except AUTOMATION_ERRORS as exc:
            raise translate(exc, command=operation, stack=self.settings.stack,
                            backend_url=self.settings.backend_url) from None

    def _open(self, *, create: bool) -> StackHandle:
        with self._translated(self.command):
            return self.factory(StackRequest(settings=self.settings, create=create))

    def _streams(self, log: PolicyLog) -> dict[str, Any]:
        return {
            "on_output": self.console.note,
            "on_error": self.console.error,
            "on_event": log,
            "color": color_for(self.console.progress),
        }

    def _targets(self) -> list[str] | None:
        return list(self.options.targets) or None

    def _guarded(self, operation: str, call: Callable[[PolicyLog], T]) -> T:
        """Run one engine operation; mandatory policy violations win over the generic failure they cause."""
        log = PolicyLog()
        with self._translated(operation):
            try:
                result = call(log)
            except auto.CommandError as exc:
                mandatory = [v for v in log.violations if v.mandatory] or violations_from_text(str(exc))
                self.outcome.violations = log.violations or mandatory
                if mandatory:
                    raise policy_error(operation, self.settings.stack, mandatory) from None
                raise
        self.outcome.violations = log.violations
        mandatory = [v for v in log.violations if v.mandatory]
        if mandatory:
            raise policy_error(operation, self.settings.stack, mandatory)
        return result

    def _outputs(self, stack: StackHandle, *, show_secrets: bool = False) -> dict[str, Any]:
        with self._translated(self.command):
            return mask_outputs(stack.outputs(), show_secrets=show_secrets)

    def _config(self, stack: StackHandle) -> dict[str, str]:
        with self._translated(self.command):
            return {key: str(value.value) for key, value in stack.get_all_config().items()}

    # -- engine operations ------------------------------------------------------------------------------------------

    def _preview(self, stack: StackHandle, policy: dict[str, list[str]]) -> None:
        result = self._guarded("preview", lambda log: stack.preview(
            **policy, **self._streams(log), refresh=self.options.refresh, target=self._targets(),
        ))
        self.outcome.resource_changes = change_counts(result.change_summary)

    def _up(self, stack: StackHandle, policy: dict[str, list[str]]) -> None:
        """Preview with the policy pack, stop on a mandatory violation or a missing --yes, then update."""
        self._preview(stack, policy)
        problem = confirmation_problem("up", self.settings, self.options.yes)
        if problem is not None:
            raise StackScriptError(problem.code, f"The preview above shows what would change. {problem.message}")
        self.console.note(f"Preview passed the policy pack; updating stack '{self.settings.stack}'.")
        result = self._guarded("up", lambda log: stack.up(
            **policy, **self._streams(log), refresh=self.options.refresh, target=self._targets(),
        ))
        self.outcome.resource_changes = change_counts(result.summary.resource_changes)
        self.outcome.outputs = mask_outputs(result.outputs)

    # -- commands ---------------------------------------------------------------------------------------------------

    def preview(self) -> None:
        policy = policy_arguments(self.settings)
        self._preview(self._open(create=False), policy)

    def up(self) -> None:
        policy = policy_arguments(self.settings)
        self._up(self._open(create=True), policy)

    def refresh(self) -> None:
        stack = self._open(create=False)
        result = self._guarded("refresh", lambda log: stack.refresh(**self._streams(log), target=self._targets()))
        self.outcome.resource_changes = change_counts(result.summary.resource_changes)
        self.outcome.outputs = self._outputs(stack)

    def destroy(self) -> None:
        problem = confirmation_problem("destroy", self.settings, self.options.yes)
        if problem is not None:
            raise problem
        stack = self._open(create=False)
        with self._translated("destroy"):
            protected = protected_resources(stack.export_stack().deployment)
        if self.options.targets:
            protected = [urn for urn in protected if urn in self.options.targets]
        if protected:
            raise self._protected_error(protected)
        result = self._guarded("destroy", lambda log: stack.destroy(
            **self._streams(log), refresh=self.options.refresh, target=self._targets(),
        ))
        self.outcome.resource_changes = change_counts(result.summary.resource_changes)

    def _protected_error(self, urns: list[str]) -> StackScriptError:
        stack = self.settings.stack
        shown = "\n".join(f"  - {urn}" for urn in urns[:5])
        if len(urns) > 5:
            shown += f"\n  ... and {len(urns) - 5} more"
        return StackScriptError(
            ExitCode.PROTECTED_RESOURCES,
            f"Stack '{stack}' has {len(urns)} protected resource(s), so destroy refuses to start:\n{shown}\n"
            "Unprotect them deliberately first, then re-run destroy:\n"
            f"  pulumi config set clickhouse-aws:protect false --stack {stack}\n"
            f"  python -m scripts.stack up --stack {stack} --yes\n"
            f"or, in state only (the next up protects them again): pulumi state unprotect --all --stack {stack}",
        )

    def outputs(self, fmt: str, show_secrets: bool, path: str | None) -> None:
        if fmt == "env" and show_secrets:
            raise StackScriptError(ExitCode.USAGE, "--show-secrets does not apply to --format env: the env file "
                                                   "never carries secret values.")
        values = self._outputs(self._open(create=False), show_secrets=show_secrets)
        text = render_env(values, self.settings.stack) if fmt == "env" else outputs_json(values)
        write_output(text, path, self.console.data, private=show_secrets)

    def handoff(self, path: str | None) -> None:
        write_output(self._handoff_document(self._outputs(self._open(create=False))), path, self.console.data)

    def audit(self, fmt: str, path: str | None, options: AuditOptions) -> None:
        """The read-only live audit (scripts.audit) of what the stack's outputs say is deployed."""
        def failed(report: AuditReport) -> str | None:
            return f"found {len(report.findings)} finding(s)" if report.findings else None

        self._report("live audit", lambda outputs: self.auditor(outputs, options), AuditError, failed, fmt, path)

    def verify(self, fmt: str, path: str | None, options: VerifyOptions) -> None:
        """The connectivity check (scripts.verify) of the stack's service from this host; exit codes as ``audit``'s."""
        def failed(report: VerifyReport) -> str | None:
            return f"failed {len(report.failures)} check(s)" if report.failures else None

        self._report("connectivity check", lambda outputs: self.verifier(outputs, options), VerifyError, failed, fmt,
                     path)

    def _report(self, what: str, check: Callable[[dict[str, Any]], R], error: type[Exception],
                failed: Callable[[R], str | None], fmt: str, path: str | None) -> None:
        """Run a check on the stack's outputs and print its report; exit 11 on what ``failed`` says, 12 on ``error``."""
        try:
            report = check(self._outputs(self._open(create=False)))
        except error as exc:
            raise StackScriptError(ExitCode.AUDIT_FAILED, f"the {what} could not run: {exc}") from None
        text = json.dumps(report.to_dict(), indent=2) + "\n" if fmt == "json" else report.render() + "\n"
        write_output(text, path, self.console.data)
        verdict = failed(report)
        if verdict:
            raise StackScriptError(ExitCode.AUDIT_FINDINGS, f"the {what} of stack '{self.settings.stack}' {verdict}; "
                                                            "see the report above.")

    def _handoff_document(self, outputs: Mapping[str, Any]) -> str:
        try:
            return render_handoff(outputs)
        except HandoffError as exc:
            raise StackScriptError(ExitCode.USAGE, str(exc)) from None

    def plan(self) -> None:
        """Print the phases and the next step without changing anything."""
        try:
            stack = self._open(create=False)
        except StackScriptError as exc:
            if exc.code is not ExitCode.STACK_NOT_FOUND:
                raise
            self.console.note(f"Stack '{self.settings.stack}' is not created yet in {self.settings.backend_url}.")
            status = detect_phase(self.settings.stack, {}, {}, protected=is_protected(self.settings))
        else:
            status = detect_phase(self.settings.stack, self._config(stack), self._outputs(stack),
                                  protected=is_protected(self.settings))
        self.outcome.phase = status
        self.console.note(describe(status))

    def bootstrap(self, handoff_path: str) -> None:
        """Run phase 1 (and phase 3 once its config is set), write the handoff document, and say what is next."""
        policy = policy_arguments(self.settings)
        stack = self._open(create=True)
        config, protected = self._config(stack), is_protected(self.settings)
        self.console.note(describe(detect_phase(self.settings.stack, config, self._outputs(stack), protected=protected)))
        self._up(stack, policy)
        outputs = self.outcome.outputs or {}
        status = detect_phase(self.settings.stack, config, outputs, protected=protected)
        if status.byoc and "byoc" in outputs:
            write_output(self._handoff_document(outputs), handoff_path, self.console.data)
            self.console.note(f"Phase 2: wrote the BYOC handoff document to {handoff_path}.")
        self.outcome.phase = status
        self.console.note(describe(status))
