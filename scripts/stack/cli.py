"""The command line of ``python -m scripts.stack <command> --stack <stack>``: arguments in, one exit code out."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Callable, Mapping, Sequence, TextIO

from scripts.audit.checks import AuditOptions
from scripts.audit.cli import add_audit_options
from scripts.stack.errors import ExitCode, StackScriptError
from scripts.project import REPO, stack_names
from scripts.stack.runner import (
    AutomationStacks, Auditor, Console, Options, Outcome, Runner, StackFactory, Verifier, audit_live,
    verify_connectivity,
)
from scripts.stack.settings import passphrase_problem, resolve_settings
from scripts.verify.runner import Options as VerifyOptions
from scripts.verify.runner import days, seconds

DEBUG_VAR = "SCRIPTS_STACK_DEBUG"

Handler = Callable[[Runner, argparse.Namespace], None]

COMMANDS: dict[str, Handler] = {
    "preview": lambda runner, args: runner.preview(),
    "up": lambda runner, args: runner.up(),
    "refresh": lambda runner, args: runner.refresh(),
    "destroy": lambda runner, args: runner.destroy(),
    "outputs": lambda runner, args: runner.outputs(args.format, args.show_secrets, args.output),
    "handoff": lambda runner, args: runner.handoff(args.output),
    "audit": lambda runner, args: runner.audit(args.format, args.output, AuditOptions(
        allow_eks_public_endpoint=args.allow_eks_public_endpoint, activity_days=args.activity_days)),
    "verify": lambda runner, args: runner.verify(args.format, args.output, VerifyOptions(
        ca_file=args.ca_file, timeout=args.timeout, min_cert_days=args.min_cert_days)),
    "plan": lambda runner, args: runner.plan(),
    "bootstrap": lambda runner, args: runner.bootstrap(args.handoff_output or f"handoff.{args.stack}.md"),
}


def build_parser(stacks: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser; ``stacks`` (the ones with a stack file) only feed the help text, ``resolve_settings`` checks."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--stack", required=True, metavar="STACK",
                        help="a stack with a stack file Pulumi.<stack>.yaml"
                             + (f" (here: {', '.join(stacks)})" if stacks else ""))
    common.add_argument("--backend-url", help="state backend (default: $PULUMI_BACKEND_URL, else "
                                              "file://<repo>/.pulumi-state)")
    common.add_argument("--secrets-provider", help="secrets provider for a new stack (default: "
                                                   "$PULUMI_SECRETS_PROVIDER, else passphrase)")
    summary = argparse.ArgumentParser(add_help=False)
    summary.add_argument("--json", action="store_true",
                         help="print a JSON summary on stdout at the end (progress then goes to stderr)")
    targets = argparse.ArgumentParser(add_help=False)
    targets.add_argument("--target", action="append", default=[], metavar="URN",
                         help="only operate on this resource URN (repeatable)")
    refresh = argparse.ArgumentParser(add_help=False)
    refresh.add_argument("--refresh", action="store_true", help="refresh state from the cloud first")
    confirm = argparse.ArgumentParser(add_help=False)
    confirm.add_argument("--yes", "-y", action="store_true", help="confirm changes to a protected stack (clickhouse-aws:protect)")
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument("-o", "--output", help="write to this file instead of stdout")

    parser = argparse.ArgumentParser(
        prog="python -m scripts.stack",
        description="Preview, update and inspect this project's stacks through the Pulumi Automation API. preview and "
                    "up always run the policy pack; exit codes are listed in docs/automation.md.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")
    sub.add_parser("preview", parents=[common, summary, targets, refresh],
                   help="preview with the policy pack")
    sub.add_parser("up", parents=[common, summary, targets, refresh, confirm],
                   help="preview, stop on mandatory violations, then update")
    sub.add_parser("refresh", parents=[common, summary, targets], help="refresh state from the cloud")
    sub.add_parser("destroy", parents=[common, summary, targets, refresh, confirm],
                   help="destroy (refuses while resources are protected)")
    outputs = sub.add_parser("outputs", parents=[common, output], help="stack outputs as JSON or an env file")
    outputs.add_argument("--format", choices=("json", "env"), default="json")
    outputs.add_argument("--show-secrets", action="store_true", help="JSON only: print secret values in clear")
    sub.add_parser("handoff", parents=[common, output], help="BYOC handoff document (Markdown)")
    audit = sub.add_parser("audit", parents=[common, output],
                           help="read-only live audit of the deployed stack against its outputs (scripts.audit)")
    audit.add_argument("--format", choices=("text", "json"), default="text")
    add_audit_options(audit)
    verify = sub.add_parser("verify", parents=[common, output],
                            help="from a host in the VPC: DNS, TLS and SELECT 1 against the stack's service "
                                 "(scripts.verify)")
    verify.add_argument("--format", choices=("text", "json"), default="text")
    verify.add_argument("--ca-file", metavar="PEM", help="trust only these CAs instead of the system's trust store")
    verify.add_argument("--timeout", type=seconds, default=VerifyOptions.timeout, metavar="SECONDS",
                        help=f"limit for each resolution, connection and read (default {VerifyOptions.timeout:g})")
    verify.add_argument("--min-cert-days", type=days, default=VerifyOptions.min_cert_days, metavar="DAYS",
                        help=f"fail when a certificate expires sooner (default {VerifyOptions.min_cert_days})")
    sub.add_parser("plan", parents=[common, summary], help="show the apply order and what is next")
    bootstrap = sub.add_parser("bootstrap", parents=[common, summary, confirm],
                               help="run the apply order for a new environment")
    bootstrap.add_argument("--handoff-output", metavar="PATH", help="handoff document path (default: "
                                                                    "handoff.<stack>.md)")
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    factory: StackFactory = AutomationStacks(),
    auditor: Auditor = audit_live,
    verifier: Verifier = verify_connectivity,
    environ: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    work_dir: Path = REPO,
) -> int:
    """Run one command and return its exit code; every failure is one message on stderr, never a traceback."""
    environ = os.environ if environ is None else environ
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    args = build_parser(stack_names(work_dir)).parse_args(argv)
    wants_json = getattr(args, "json", False)
    console = Console(progress=stderr if wants_json else stdout, errors=stderr, data=stdout)
    outcome = Outcome(command=args.command, stack=args.stack)
    code, error = ExitCode.OK, None
    try:
        settings = resolve_settings(args.stack, backend_flag=args.backend_url, secrets_flag=args.secrets_provider,
                                    environ=environ, work_dir=work_dir)
        factory.check()
        problem = passphrase_problem(settings, environ)
        if problem is not None:
            raise problem
        options = Options(targets=tuple(getattr(args, "target", ())), refresh=getattr(args, "refresh", False),
                          yes=getattr(args, "yes", False))
        runner = Runner(args.command, settings, factory, console, options, auditor, verifier)
        outcome = runner.outcome
        COMMANDS[args.command](runner, args)
    except StackScriptError as exc:
        code, error = exc.code, exc.message
    except KeyboardInterrupt:
        code, error = ExitCode.INTERRUPTED, "Interrupted; the CLI cancels the running operation and unlocks the stack."
    except Exception as exc:  # noqa: BLE001 - the contract is one message, never a traceback
        if environ.get(DEBUG_VAR):
            raise
        code = ExitCode.UNEXPECTED
        error = f"Unexpected {type(exc).__name__}: {exc} (set {DEBUG_VAR}=1 to see the traceback)."
    if error is not None:
        console.error(f"error: {error}")
    if wants_json:
        stdout.write(json.dumps(outcome.summary(code, error), indent=2, sort_keys=True) + "\n")
    return int(code)

