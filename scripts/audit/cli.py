"""``python -m scripts.audit --outputs outputs.json [--json]``: the live audit from the command line.

The file is what ``pulumi stack output --json`` prints. Exit 0 when clean, 1 on findings, 2 when the audit could not
run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Sequence

from scripts.audit.model import REGENERATE, AuditError
from scripts.audit.run import EXIT_ERROR, run_audit


def load_outputs(path: Path) -> Any:
    """The parsed JSON of an outputs file; AuditError when it is missing, unreadable or not JSON."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AuditError(
            f"The outputs file {path} does not exist. Create it with {REGENERATE} and run again."
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise AuditError(f"The outputs file {path} cannot be read ({err}). Regenerate it with {REGENERATE}.") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise AuditError(
            f"The outputs file {path} is not valid JSON ({err.msg} at line {err.lineno}, column {err.colno}). "
            f"Regenerate it with {REGENERATE}; redirect only stdout, so CLI messages do not end up in the file."
        ) from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.audit",
        description="Read-only live audit of a stack's AWS resources against its outputs and the project policies.",
        epilog="Exit codes: 0 clean, 1 findings, 2 the audit could not run.",
    )
    parser.add_argument("--outputs", required=True, type=Path, help="file written by `pulumi stack output --json`")
    parser.add_argument("--json", action="store_true", help="print a machine-readable JSON report")
    args = parser.parse_args(argv)
    try:
        report = run_audit(load_outputs(args.outputs))
    except AuditError as err:
        print(f"audit could not run: {err}", file=sys.stderr)
        if args.json:
            print(json.dumps({"status": "error", "exit_code": EXIT_ERROR, "error": str(err)}, indent=2))
        return EXIT_ERROR
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.render())
    return report.exit_code

