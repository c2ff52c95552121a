"""Pulumi.yaml's ``config:`` block, generated from the key table, so the CLI and the program declare the same keys.

    python -m stack_config.schema           rewrite the block in Pulumi.yaml (``make config-schema``)
    python -m stack_config.schema --check   exit 1 if the block is not what the key table gives

Only that block is rewritten; the rest of the file stays as written. Pulumi's project config types are string, integer,
boolean and array only, so an object key (tags) cannot be declared; nor can a secret one (byocExternalId): Pulumi
requires a declared key without a default on every stack, dev too, and a secret has no committed default.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path
from typing import Optional, Sequence

import yaml

from stack_config.keys import KEYS, PROJECT, Key

PROJECT_FILE = Path(__file__).resolve().parents[1] / "Pulumi.yaml"
PULUMI_TYPES = {str: "string", int: "integer", bool: "boolean", list: "array"}


def declarable(key: Key) -> bool:
    return key.kind in PULUMI_TYPES and not key.secret


def _why_left_out(key: Key) -> str:
    if key.secret:
        return (f"{key.name} (a secret, set per stack with `pulumi config set --secret {PROJECT}:{key.name} ...`; "
                "declared without a default, it would be required on every stack)")
    return f"{key.name} (an object; Pulumi types only strings, integers, booleans and arrays)"


def config_block(keys: Sequence[Key] = KEYS) -> str:
    """The ``config:`` block declaring every declarable key with its type, description and default, in table order."""
    left_out = " and ".join(_why_left_out(k) for k in keys if not declarable(k))
    header = textwrap.wrap(f"Generated from stack_config/keys.py by `make config-schema`: change the key table, not "
                           f"this block. Not declared: {left_out}.", width=116, break_on_hyphens=False)
    lines = ["config:", *(f"  # {line}" for line in header)]
    for key in keys:
        if not declarable(key):
            continue
        declaration = {"type": PULUMI_TYPES[key.kind]}
        if key.kind is list:
            declaration["items"] = {"type": "string"}
        declaration |= {"description": key.description, "default": key.default}
        text = yaml.safe_dump({key.name: declaration}, sort_keys=False, default_flow_style=False, width=1 << 16)
        lines += [f"  {line}" for line in text.splitlines()]
    return "\n".join(lines) + "\n"


def with_config_block(project_text: str, keys: Sequence[Key] = KEYS) -> str:
    """``project_text`` with its ``config:`` block replaced by the generated one (appended if it has none).

    The block is the top-level ``config:`` line and the indented or blank lines after it, up to the next line at the
    left margin; blank lines at its end stay where they are.
    """
    lines = project_text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == "config:"), None)
    if start is None:
        return project_text.rstrip("\n") + "\n" + config_block(keys)
    end = start + 1
    while end < len(lines) and (lines[end][:1] in (" ", "\t") or not lines[end].strip()):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return "".join(lines[:start]) + config_block(keys) + "".join(lines[end:])


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stack_config.schema", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the block is out of date, writing nothing")
    parser.add_argument("project_file", nargs="?", type=Path, default=PROJECT_FILE)
    args = parser.parse_args(argv)
    current = args.project_file.read_text()
    wanted = with_config_block(current)
    if current == wanted:
        print(f"{args.project_file.name}: config block is current")
        return 0
    if args.check:
        print(f"{args.project_file.name}: config block is out of date; run `make config-schema`", file=sys.stderr)
        return 1
    args.project_file.write_text(wanted)
    print(f"{args.project_file.name}: config block rewritten from the key table")
    return 0


if __name__ == "__main__":
    sys.exit(main())
