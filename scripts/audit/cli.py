"""``python -m scripts.audit --outputs outputs.json [--json]``: the live audit from the command line.

The file (``-`` for standard input) is what ``pulumi stack output --json`` prints. Exit 0 when clean, 1 on findings,
2 when the audit could not run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Sequence

import stack_outputs
from scripts.audit.checks import AuditOptions
from scripts.audit.model import REGENERATE, AuditError
from scripts.audit.run import run_audit
from scripts.check_status import EXIT_ERROR


def load_outputs(path: Path) -> dict[str, Any]:
    """The outputs in a file; AuditError when it cannot hold them (missing, unreadable, not a JSON object)."""
    try:
        return stack_outputs.read_file(str(path))
    except stack_outputs.OutputsFileError as err:
        text = str(err)
        raise AuditError(
            f"{text[0].upper()}{text[1:]}. Create it with {REGENERATE} (redirect only stdout, so CLI messages stay "
            "out of the file) and run again."
        ) from None


def _days(text: str) -> int:
    # CloudTrail keeps 90 days of event history.
    if not text.isdigit() or not 1 <= int(text) <= 90:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days from 1 to 90")
    return int(text)


def add_audit_options(parser: argparse.ArgumentParser) -> None:
    """The options of ``AuditOptions`` (also on ``python -m scripts.stack audit``)."""
    parser.add_argument("--allow-eks-public-endpoint", action="store_true",
                        help="accept a public API endpoint on ClickHouse's EKS cluster (eks-no-public-endpoint)")
    parser.add_argument("--activity-days", type=_days, default=AuditOptions.activity_days, metavar="DAYS",
                        help="how many days of the management role's CloudTrail activity to summarise (1-90, "
                             f"default {AuditOptions.activity_days})")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.audit",
        description="Read-only live audit of a stack's AWS resources against its outputs and the project policies.",
        epilog="Exit codes: 0 clean, 1 findings, 2 the audit could not run.",
    )
    parser.add_argument("--outputs", required=True, type=Path,
                        help="file written by `pulumi stack output --json`, or - for standard input")
    parser.add_argument("--json", action="store_true", help="print a machine-readable JSON report")
    add_audit_options(parser)
    args = parser.parse_args(argv)
    options = AuditOptions(allow_eks_public_endpoint=args.allow_eks_public_endpoint, activity_days=args.activity_days)
    try:
        report = run_audit(load_outputs(args.outputs), options=options)
    except AuditError as err:
        print(f"audit could not run: {err}", file=sys.stderr)
        if args.json:
            print(json.dumps({"status": "error", "exit_code": EXIT_ERROR, "error": str(err)}, indent=2))
        return EXIT_ERROR
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.render())
    return report.exit_code

