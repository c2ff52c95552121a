"""The e2e harness: a real Pulumi CLI on a copy of this project, in a throwaway state backend.

A ``Workspace`` is a temporary directory holding a copy of the project (its ``venv`` a link to the repository's),
its own ``PULUMI_HOME`` and a ``file://`` backend with the passphrase secrets provider. The CLI finds the provider
doubles (``e2e/plugins``) and the language host on PATH; plugin downloads and update checks are switched off, so
nothing leaves the machine. The CLI never runs in the repository itself: ``pulumi stack init`` and ``pulumi config
set`` write into ``Pulumi.<stack>.yaml``.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import secrets
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

REPO = Path(__file__).resolve().parents[2]
PLUGINS = REPO / "e2e" / "plugins"
# What a copy of the project leaves behind: tests, docs, tooling, local state and caches. Everything else (the
# program and its modules, the policy pack, the scripts, the stack files) is what `pulumi up` and `python -m
# scripts.stack` need, including whatever module is added later.
NOT_COPIED = {".git", ".github", ".ci", ".e2e", ".hypothesis", ".pulumi-state", ".pytest_cache", "venv", "tests", "e2e", "bench",
              "docs"}
STACKS = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in REPO.glob("Pulumi.*.yaml"))
PROJECT = yaml.safe_load((REPO / "Pulumi.yaml").read_text())["name"]
PASSPHRASE = "e2e-only-passphrase"
PASSWORD_TYPE = "random:index/randomPassword:RandomPassword"
# How the CLI lists a local policy pack it applied, passed or not: "clickhouse-aws-policy@v0.1.0 (local: <dir>)".
PACK_APPLIED = re.compile(r"clickhouse-aws-policy@v\S+ \(local: [^)]*policy\)")
# Every CLI call is bounded, so a hung plugin fails its test instead of the whole run.
TIMEOUT = 300


@dataclass
class CliRun:
    """One finished CLI (or script) run: exit code, output, and the engine events it logged."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def policy_findings(self) -> set[tuple[str, str, str]]:
        """(policy, URN, level) of every policy violation the engine reported."""
        return {(e["policyName"], e["resourceUrn"], e["enforcementLevel"])
                for e in (ev.get("policyEvent") for ev in self.events) if e}

    def changes(self) -> dict[str, int]:
        """Resource changes by kind, from the engine's summary event."""
        [summary] = [e["summaryEvent"] for e in self.events if "summaryEvent" in e]
        return summary["resourceChanges"]

    def mandatory_policies(self) -> set[str]:
        return {policy for policy, _, level in self.policy_findings() if level == "mandatory"}

    def explain(self) -> str:
        return f"$ {' '.join(self.args)}\nexit {self.returncode}\n{self.output[-6000:]}"


def cli_environment(root: Path, cli_bin: Path) -> dict[str, str]:
    """The CLI's environment for a workspace under ``root``: a Pulumi home and a file:// backend of its own (made
    here), the doubles as its only plugins, and nothing of the caller's Pulumi, ClickHouse or AWS settings."""
    (root / "home").mkdir()
    (root / "state").mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PULUMI_", "CLICKHOUSE_", "AWS_"))}
    env.update(
        PATH=os.pathsep.join([str(cli_bin), str(PLUGINS), os.environ.get("PATH", "")]),
        PULUMI_HOME=str(root / "home"),
        PULUMI_BACKEND_URL=f"file://{root / 'state'}",
        PULUMI_CONFIG_PASSPHRASE=PASSPHRASE,
        PULUMI_SKIP_UPDATE_CHECK="true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
        # Unlocks the CLI's --event-log flag, which the Automation API also relies on.
        PULUMI_DEBUG_COMMANDS="true",
    )
    return env


class Workspace:
    """A project copy, a Pulumi home and a state backend of its own, and the environment the CLI runs in."""

    def __init__(self, root: Path, cli_bin: Path):
        self.root = root
        self.project = root / "project"
        self.cli = cli_bin / "pulumi"
        shutil.copytree(REPO, self.project, ignore=lambda where, names: [
            n for n in names if n == "__pycache__" or (where == str(REPO) and n in NOT_COPIED)])
        (self.project / "venv").symlink_to(REPO / "venv")
        self.env = cli_environment(root, cli_bin)
        self._logs = itertools.count(1)

    # --- running things ----------------------------------------------------------------------------------------

    def run(self, args: list[str], *, env: Optional[dict[str, str]] = None, unset: tuple[str, ...] = (),
            input: Optional[str] = None, event_log: bool = False) -> CliRun:
        log = None
        if event_log:
            log = self.root / f"events-{next(self._logs)}.jsonl"
            args = [*args, "--event-log", str(log)]
        environ = {k: v for k, v in {**self.env, **(env or {})}.items() if k not in unset}
        proc = subprocess.run(args, cwd=self.project, env=environ, input=input,
                              capture_output=True, text=True, timeout=TIMEOUT)
        events = [json.loads(line) for line in log.read_text().splitlines() if line.strip()] if log and log.exists() \
            else []
        return CliRun([str(a) for a in args], proc.returncode, proc.stdout, proc.stderr, events)

    def pulumi(self, *args: str, stack: Optional[str] = None, event_log: bool = False, **kwargs: Any) -> CliRun:
        stack_args = ["--stack", stack] if stack else []
        return self.run([str(self.cli), *args, *stack_args, "--non-interactive", "--color", "never"],
                        event_log=event_log, **kwargs)

    def ok(self, *args: str, **kwargs: Any) -> CliRun:
        """``pulumi <args>`` that must succeed."""
        run = self.pulumi(*args, **kwargs)
        assert run.returncode == 0, run.explain()
        return run

    def python(self, *args: str, **kwargs: Any) -> CliRun:
        """The project's virtualenv Python in the project copy, e.g. ``python("-m", "scripts.stack", ...)``."""
        return self.run([str(self.project / "venv" / "bin" / "python"), *args], **kwargs)

    # --- stacks --------------------------------------------------------------------------------------------------

    def init_stack(self, stack: str) -> dict[str, str]:
        """Create ``stack`` and set what the repository leaves to each machine: the ClickHouse API key (the
        provider refuses to start without it), where BYOC is on the ExternalId, and where metrics are on the metrics
        agent's API key, as secrets. Returns the secret values set, so a test can search the state for them."""
        self.ok("stack", "init", stack, "--secrets-provider", "passphrase")
        values = {
            "clickhouse:tokenKey": "ch-key-" + secrets.token_hex(8),
            "clickhouse:tokenSecret": "ch-secret-" + secrets.token_hex(12),
            "clickhouse-aws:byocExternalId": "ext-id-" + secrets.token_hex(12),
        }
        self.ok("config", "set", "clickhouse:organizationId", "3f1e6a52-8f4e-4d1c-9a63-0c2b7de9a001", stack=stack)
        # As the README says: the CLI refuses a key that looks like a credential in plain text.
        self.ok("config", "set", "--secret", "clickhouse:tokenKey", values["clickhouse:tokenKey"], stack=stack)
        self.ok("config", "set", "--secret", "clickhouse:tokenSecret", values["clickhouse:tokenSecret"], stack=stack)
        if stack_config(stack).get(f"{PROJECT}:byocEnabled"):
            self.ok("config", "set", "--secret", "clickhouse-aws:byocExternalId",
                    values["clickhouse-aws:byocExternalId"], stack=stack)
        else:
            del values["clickhouse-aws:byocExternalId"]
        if stack_config(stack).get(f"{PROJECT}:metricsEnabled"):
            for key, value in (("metricsApiKeyId", "mkey" + secrets.token_hex(8)),
                               ("metricsApiKeySecret", "msecret-" + secrets.token_hex(12))):
                values[f"clickhouse-aws:{key}"] = value
                self.ok("config", "set", "--secret", f"clickhouse-aws:{key}", value, stack=stack)
        return values

    def policy_args(self, stack: str) -> list[str]:
        return ["--policy-pack", "policy", "--policy-pack-config", f"policy/config.{stack}.json"]

    def preview(self, stack: str, *extra: str) -> CliRun:
        return self.pulumi("preview", *self.policy_args(stack), *extra, stack=stack, event_log=True)

    def up(self, stack: str, *extra: str) -> CliRun:
        return self.pulumi("up", "--yes", *self.policy_args(stack), *extra, stack=stack,
                           event_log=True)

    def outputs(self, stack: str, *extra: str) -> dict[str, Any]:
        return json.loads(self.ok("stack", "output", "--json", *extra, stack=stack).stdout)

    def export(self, stack: str, *extra: str) -> str:
        return self.ok("stack", "export", *extra, stack=stack).stdout

    def password(self, stack: str) -> Optional[str]:
        """The generated ClickHouse password, from the state decrypted with the stack's passphrase; None for a stack
        with no service yet (a BYOC stack before ClickHouse reports its infrastructure)."""
        deployment = json.loads(self.export(stack, "--show-secrets"))["deployment"]
        passwords = [r for r in deployment["resources"] if r["type"] == PASSWORD_TYPE]
        assert len(passwords) <= 1, f"{stack} has {len(passwords)} generated passwords"
        return json.loads(passwords[0]["outputs"]["result"]["plaintext"]) if passwords else None

    def append_to_program(self, code: str) -> None:
        with (self.project / "__main__.py").open("a") as program:
            program.write("\n" + code)


def stack_config(stack: str) -> dict[str, Any]:
    return (yaml.safe_load((REPO / f"Pulumi.{stack}.yaml").read_text()) or {}).get("config") or {}


@dataclass
class Deployed:
    """What happened to every stack in one workspace (see the ``deployed`` fixture), and the secret values set."""

    workspace: Workspace
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)
    first_previews: dict[str, CliRun] = field(default_factory=dict)
    ups: dict[str, CliRun] = field(default_factory=dict)
    second_ups: dict[str, CliRun] = field(default_factory=dict)
    previews: dict[str, CliRun] = field(default_factory=dict)
    # The generated ClickHouse password after the first and the second up.
    passwords: dict[str, Optional[str]] = field(default_factory=dict)
    passwords_after_second_up: dict[str, Optional[str]] = field(default_factory=dict)


class OfflineGate:
    """``python -m scripts.preview --json`` on the repository, as CI runs it, started in the background."""

    def __init__(self, stack: str, first_deploy: bool):
        args = ["--first-deploy"] if first_deploy else []
        self._proc = subprocess.Popen(
            [str(REPO / "venv" / "bin" / "python"), "-m", "scripts.preview", "--stack", stack, "--json", *args],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self._result: Optional[dict[str, Any]] = None

    def verdict(self) -> dict[str, Any]:
        if self._result is None:
            stdout, stderr = self._proc.communicate(timeout=TIMEOUT)
            assert self._proc.returncode in (0, 1), stderr
            self._result = json.loads(stdout)
        return self._result

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
