"""CLI: ``python -m scripts.verify --outputs FILE|- [--json] [--ca-file PEM] [--timeout S] [--min-cert-days N]``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import BinaryIO, Sequence

import boto3

from scripts.verify.network import Network
from scripts.verify.outputs import load_outputs
from scripts.verify.report import EXIT_ERROR, VerifyError, error_document
from scripts.verify.runner import Options, days, run_verify, seconds


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.verify",
        description="Check from inside the VPC that the stack's ClickHouse service resolves privately, presents a "
                    "valid certificate on 8443 and 9440, and answers SELECT 1 with the password from Secrets Manager.",
        epilog="Exit codes: 0 every check passed, 1 a check failed, 2 the check could not run.",
    )
    parser.add_argument("--outputs", required=True, metavar="FILE",
                        help="file written by `pulumi stack output --json`, or - for standard input")
    parser.add_argument("--json", action="store_true", help="print a machine-readable JSON report")
    parser.add_argument("--ca-file", metavar="PEM", help="trust only these CAs instead of the system's trust store")
    parser.add_argument("--timeout", type=seconds, default=Options.timeout, metavar="SECONDS",
                        help=f"limit for each resolution, connection and read (default {Options.timeout:g})")
    parser.add_argument("--min-cert-days", type=days, default=Options.min_cert_days, metavar="DAYS",
                        help="fail when a certificate expires sooner than this "
                             f"(default {Options.min_cert_days})")
    return parser


def main(argv: Sequence[str] | None = None, *, stdin: BinaryIO | None = None, session: boto3.Session | None = None,
         network: Network | None = None) -> int:
    args = parser().parse_args(argv)
    options = Options(ca_file=args.ca_file, timeout=args.timeout, min_cert_days=args.min_cert_days)
    try:
        outputs = load_outputs(args.outputs, stdin or sys.stdin.buffer)
        report = run_verify(outputs, options=options, session=session, network=network)
    except VerifyError as err:
        print(f"verify could not run: {err}", file=sys.stderr)
        if args.json:
            print(json.dumps(error_document(str(err)), indent=2))
        return EXIT_ERROR
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.render())
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main())
