"""The offline policy gate on the repo's own stacks: clean runs, broken variants, exit codes, the analyzer's lifetime.

Broken variants edit the recorded run before analysis (``mutate``) and share one pack process per stack; the tests
about the process itself let the gate start its own.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Iterator, Optional

import pytest
from pulumi.runtime import rpc

from scripts.offline.analyzer import Analyzer, analyzer_env, to_struct
from scripts.offline.engine import ProgramRun, RecordedResource, load_stack_config, project_name
from scripts.project import REPO, stack_names
from scripts.preview import (
    EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_VIOLATION, GateResult, as_json, gate, load_policy_config, main,
    print_human, summary_line,
)

CROSS_ACCOUNT_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sts:AssumeRole"}]})


def analyzer_children(parent: Optional[int] = None) -> set[int]:
    """PIDs of the policy pack processes whose parent is ``parent`` (this process by default)."""
    parent = parent or os.getpid()
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat, open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
                command = cmdline.read().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and b"pulumi.policy" in command:
            found.add(int(entry))
    return found


def gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not os.path.exists(f"/proc/{pid}"):
            return True
        time.sleep(0.02)
    return False


# --- editing a recorded run -------------------------------------------------------------------------------------


def find(run: ProgramRun, type_: str) -> RecordedResource:
    return next(r for r in run.resources if r.type == type_)


def set_inputs(resource: RecordedResource, **values: Any) -> None:
    """Change inputs in both views the engine recorded; a value of None removes the input."""
    for key, value in values.items():
        if value is None:
            resource.inputs.pop(key, None)
            if key in resource.wire:
                del resource.wire[key]
        else:
            resource.inputs[key] = value
            resource.wire[key] = value


def add(run: ProgramRun, type_: str, name: str, props: dict, deps: Optional[dict] = None) -> RecordedResource:
    resource = RecordedResource(
        urn=f"urn:pulumi:{run.stack}::{run.project}::{type_}::{name}", id=f"{name}-id", type=type_, name=name,
        custom=True,
        parent=run.stack_urn, provider="", protect=False, retain_on_delete=False, delete_before_replace=False,
        ignore_changes=[], additional_secret_outputs=[], aliases=[],
        dependencies=sorted({urn for urns in (deps or {}).values() for urn in urns}),
        property_dependencies=deps or {}, inputs=dict(props), wire=to_struct(props),
    )
    run.resources.append(resource)
    return resource


def public_clickhouse(run: ProgramRun) -> None:
    service = find(run, "clickhouse:index/service:Service")
    set_inputs(service, ipAccesses=[{"source": "0.0.0.0/0", "description": "any"}])


def world_open_rule(run: ProgramRun) -> None:
    rule = find(run, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    set_inputs(rule, referencedSecurityGroupId=None, cidrIpv4="0.0.0.0/0")


def endpoint_in_another_region(run: ProgramRun) -> None:
    set_inputs(find(run, "aws:ec2/vpcEndpoint:VpcEndpoint"), serviceRegion="eu-west-1")


def clickhouse_elsewhere(run: ProgramRun) -> None:
    set_inputs(find(run, "clickhouse:index/service:Service"), region="eu-west-1")


def bucket_without_access_block(run: ProgramRun) -> None:
    """Drop an existing bucket's public access block; a stack without buckets gets an otherwise compliant one."""
    blocks = [r for r in run.resources if r.type == "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"]
    if blocks:
        run.resources.remove(blocks[0])
        return
    bucket = add(run, "aws:s3/bucket:Bucket", "variant", {"bucket": "variant-backups"})
    on_bucket = {"bucket": [bucket.urn]}
    add(run, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "variant",
        {"bucket": "variant-backups", "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]},
        on_bucket)
    add(run, "aws:s3/bucketVersioning:BucketVersioning", "variant",
        {"bucket": "variant-backups", "versioningConfiguration": {"status": "Enabled"}}, on_bucket)
    tls_only = {"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                "Resource": ["arn:aws:s3:::variant-backups", "arn:aws:s3:::variant-backups/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    add(run, "aws:s3/bucketPolicy:BucketPolicy", "variant",
        {"bucket": "variant-backups", "policy": json.dumps({"Version": "2012-10-17", "Statement": [tls_only]})},
        on_bucket)


def cross_account_role(run: ProgramRun) -> None:
    add(run, "aws:iam/role:Role", "variant-cross-account", {"assumeRolePolicy": CROSS_ACCOUNT_TRUST})


def plaintext_secret_string(run: ProgramRun) -> None:
    version = find(run, "aws:secretsmanager/secretVersion:SecretVersion")
    set_inputs(version, secretString=version.inputs["secretString"])


@pytest.fixture(scope="module")
def judge() -> Iterator[Callable[..., GateResult]]:
    """``judge(stack, mutate, **options)``: the gate with one long-lived pack per stack."""
    packs: dict[str, Analyzer] = {}

    def run(stack: str, mutate: Optional[Callable[[ProgramRun], None]] = None, **options: Any) -> GateResult:
        if stack not in packs:
            config, secret_keys = load_stack_config(stack)
            packs[stack] = Analyzer(analyzer_env(project_name(), stack, config, secret_keys)).start()
        return gate(stack, mutate=mutate, analyzer=packs[stack], **options)

    try:
        yield run
    finally:
        for pack in packs.values():
            pack.stop()


@pytest.mark.parametrize("stack", ["dev", "prod", "byoc"])
def test_repo_stacks_pass_with_one_analyzer_that_is_gone_afterwards(stack: str) -> None:
    before = analyzer_children()
    during: list[set[int]] = []
    result = gate(stack, mutate=lambda run: during.append(analyzer_children() - before))
    assert result.error is None and result.exit_code == EXIT_OK
    assert result.mandatory == [], [v.message for v in result.mandatory]
    assert len(result.run.resources) > 20
    assert during == [{result.analyzer_pid}]
    assert gone(result.analyzer_pid)
    report = io.StringIO()
    print_human(result, report)
    text = report.getvalue()
    assert text.startswith(f"pulumi:pulumi:Stack clickhouse-aws-{stack}")
    assert all(result.run.config[key] not in text for key in result.run.secret_keys)
    # BYOC whose egress is knowingly none is said, not hidden; a stack without BYOC has nothing to say.
    acknowledged = result.run.config.get("clickhouse-aws:byocEgressNoneAcknowledged") == "true"
    assert ("advisory: " in text and "Tailscale" in text) is acknowledged


@pytest.mark.parametrize("stack", ["dev", "prod", "byoc"])
def test_a_first_deploy_preview_with_every_output_unknown_passes(judge, stack: str) -> None:
    # What `pulumi preview` sees before the stack exists: every computed output unknown. Policies treat
    # security-relevant unknowns as violations, so the program must keep what they judge known at preview.
    result = judge(stack, first_deploy=True)
    assert result.error is None
    assert result.mandatory == [], [f"{v.policy}: {v.message}" for v in result.mandatory]
    # The run really had unknown outputs: the VPC's ID, which every stack's network hands on.
    vpc = result.run.one("aws:ec2/vpc:Vpc")
    assert any(r.wire.fields["vpcId"].string_value == rpc.UNKNOWN for r in result.run.resources
               if "vpcId" in r.wire.fields and r.parent == vpc.parent), "the run really had unknown outputs"
    for endpoint in (r for r in result.run.of_type("aws:ec2/vpcEndpoint:VpcEndpoint") if r.name == "privatelink-endpoint"):
        assert endpoint.wire.fields["serviceName"].string_value == rpc.UNKNOWN


@pytest.mark.parametrize("stack,mutate,policy", [
    ("dev", public_clickhouse, "clickhouse-no-public-access"),
    ("dev", world_open_rule, "security-group-no-public-ingress"),
    ("dev", endpoint_in_another_region, "vpc-endpoint-same-region"),
    ("dev", clickhouse_elsewhere, "clickhouse-region-matches-stack"),
    ("dev", bucket_without_access_block, "s3-bucket-public-access-block"),
    ("prod", bucket_without_access_block, "s3-bucket-public-access-block"),
    ("dev", cross_account_role, "iam-cross-account-requires-external-id"),
    ("dev", plaintext_secret_string, "no-plaintext-secrets"),
])
def test_broken_variant_is_blocked_by_its_policy(judge, stack: str, mutate, policy: str) -> None:
    result = judge(stack, mutate)
    assert result.exit_code == EXIT_VIOLATION
    assert result.policies("mandatory") == {policy}, [v.message for v in result.mandatory]
    # Only the gate sees secret markers; everything else is the pack's verdict.
    assert {v.source for v in result.mandatory} == {"gate" if policy == "no-plaintext-secrets" else "analyzer"}


def test_human_output_and_exit_code_zero(capsys) -> None:
    assert main(["--stack", "dev"]) == EXIT_OK
    out = capsys.readouterr().out
    assert out.startswith("pulumi:pulumi:Stack clickhouse-aws-dev  region=us-east-1")
    assert "└─ " in out and "clickhouse:index/service:Service clickhouse" in out and "ip-access=none" in out
    assert "[advisory, low] secret-customer-kms-key" in out
    assert out.rstrip().splitlines()[-1].startswith("dev: ") and "0 mandatory" in out and "passed" in out


def test_mandatory_violation_exits_one_with_json(capsys, monkeypatch) -> None:
    stricter = {**load_policy_config("dev"), "secret-customer-kms-key": "mandatory"}
    monkeypatch.setattr("scripts.preview.load_policy_config", lambda stack: stricter)
    assert main(["--stack", "dev", "--json"]) == EXIT_VIOLATION
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] is False and report["summary"]["mandatory"] == 1
    assert report["violations"][0]["policy"] == "secret-customer-kms-key" and report["violations"][0]["urn"]


def test_unknown_stack_exits_two_without_traceback(capsys) -> None:
    assert main(["--stack", "no-such-stack"]) == EXIT_ERROR
    captured = capsys.readouterr()
    assert f"no stack file Pulumi.no-such-stack.yaml; known stacks: {', '.join(stack_names())}" in captured.err
    assert "Traceback" not in captured.err + captured.out


def test_program_config_error_exits_two_and_stops_the_analyzer() -> None:
    result = gate("dev", overrides={"clickhouse-aws:clickhouseRegion": "eu-west-1"})
    assert result.exit_code == EXIT_ERROR and "clickhouse-aws:clickhouseRegion" in result.error
    assert result.violations == [] and gone(result.analyzer_pid)


def test_invalid_policy_config_exits_two(judge) -> None:
    result = judge("dev", policy_config={"cloudwatch-log-group-retention": {"minimumRetentionDays": "long"}})
    assert result.exit_code == EXIT_ERROR and "minimumRetentionDays" in result.error


def test_analyzer_crash_exits_two() -> None:
    before = analyzer_children()

    def crash(run: ProgramRun) -> None:
        for pid in analyzer_children() - before:
            os.kill(pid, signal.SIGKILL)

    result = gate("dev", mutate=crash)
    assert result.exit_code == EXIT_ERROR and "policy pack" in result.error
    assert gone(result.analyzer_pid)


@pytest.mark.parametrize("exception", [RuntimeError("boom"), KeyboardInterrupt()])
def test_analyzer_is_stopped_when_the_gate_raises(exception: BaseException) -> None:
    before = analyzer_children()
    started: list[int] = []

    def explode(run: ProgramRun) -> None:
        started.extend(analyzer_children() - before)
        raise exception

    with pytest.raises(type(exception)):
        gate("dev", mutate=explode)
    assert len(started) == 1 and gone(started[0])


def test_program_crash_exits_two_without_traceback(capsys, monkeypatch) -> None:
    def broken_program(*args: Any, **kwargs: Any) -> ProgramRun:
        raise ValueError("component exploded")

    monkeypatch.setattr("scripts.preview.run_program", broken_program)
    before = analyzer_children()
    assert main(["--stack", "dev"]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "ValueError: component exploded" in err and "Traceback" not in err
    assert analyzer_children() == before


@pytest.mark.parametrize("inherited", ["SIG_DFL", "SIG_IGN"])
def test_command_line_interrupt_stops_the_analyzer(inherited: str) -> None:
    """Ctrl-C while the program runs: exit 130, and the pack the command started is gone.

    The gate is started with an explicit SIGINT disposition, never the one this test run inherited: SIG_IGN is how a
    shell without job control or some CI runners start jobs, and the gate must still stop on SIGINT. The signal goes
    to the gate's whole process group, as a terminal's Ctrl-C does.
    """
    gate_command = [sys.executable, "-m", "scripts.preview", "--stack", "prod"]
    start = (f"import os, signal, sys; signal.signal(signal.SIGINT, signal.{inherited}); "
             f"os.execv(sys.executable, {gate_command!r})")
    command = subprocess.Popen([sys.executable, "-c", start], cwd=REPO, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, process_group=0)
    try:
        deadline = time.monotonic() + 20
        packs: set[int] = set()
        while not packs and time.monotonic() < deadline and command.poll() is None:
            packs = analyzer_children(command.pid)
            time.sleep(0.01)
        assert len(packs) == 1
        os.killpg(command.pid, signal.SIGINT)
        _, err = command.communicate(timeout=20)
    finally:
        if command.poll() is None:
            command.kill()
    assert command.returncode == EXIT_INTERRUPTED and b"interrupted" in err and b"Traceback" not in err, err
    assert gone(packs.pop())


def test_an_interrupt_lost_inside_the_run_still_stops_the_gate(capsys, monkeypatch) -> None:
    """A KeyboardInterrupt raised where Python cannot propagate it (a weakref callback of an import, a __del__) is
    reported as unraisable and the run goes on; the gate still exits 130, without printing that traceback."""
    import weakref

    from scripts import preview

    monkeypatch.setattr(preview, "_stopped_by", None)
    monkeypatch.setattr(sys, "unraisablehook", preview._quiet_lost_stop)

    def interrupted_where_it_is_lost(stack: str, **_: Any) -> GateResult:
        class Dying:
            pass

        def callback(_ref: Any) -> None:
            preview._interrupt(signal.SIGINT, None)

        dying = Dying()
        kept = weakref.ref(dying, callback)  # noqa: F841 - the callback needs a live reference
        del dying  # the callback runs here and its KeyboardInterrupt is lost
        return GateResult(stack, EXIT_OK)

    monkeypatch.setattr(preview, "gate", interrupted_where_it_is_lost)
    assert main(["--stack", "dev"]) == EXIT_INTERRUPTED
    err = capsys.readouterr().err
    assert err == "interrupted; the policy pack was stopped\n"


def test_the_same_input_prints_the_same_bytes_from_separate_processes() -> None:
    # The engine records registrations as they complete, in an order that differs between processes.
    command = [sys.executable, "-m", "scripts.preview", "--stack", "dev", "--json"]
    runs = [subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    (first, _), (second, _) = (run.communicate(timeout=120) for run in runs)
    assert [run.returncode for run in runs] == [EXIT_OK, EXIT_OK]
    assert first == second
    report = json.loads(first)
    assert "timings" not in report
    assert [r["urn"] for r in report["resources"]] == sorted(r["urn"] for r in report["resources"])


def test_the_tree_and_the_report_do_not_depend_on_registration_order(judge) -> None:
    result = judge("dev")

    def printed(order: list[RecordedResource], violations: list) -> tuple[str, str]:
        reordered = dataclasses.replace(result, run=dataclasses.replace(result.run, resources=order),
                                        violations=violations)
        out = io.StringIO()
        print_human(reordered, out)
        return out.getvalue(), json.dumps(as_json(reordered))

    resources, violations = list(result.run.resources), list(result.violations)
    shuffled = random.Random(9).sample(resources, len(resources))
    assert shuffled != resources
    assert printed(shuffled, violations[::-1]) == printed(resources, violations)
    assert "└─ " in printed(resources, violations)[0]


def test_timings_are_reported_only_when_asked(judge) -> None:
    result = judge("dev")
    timings = as_json(result, timings=True)["timings"]
    assert set(timings) == {"program", "analyzer_wait", "analysis", "total"} and timings["total"] > 0
    assert "timings" not in as_json(result)
    assert re.fullmatch(r"dev: .* - passed in \d+\.\d\ds", summary_line(result, timings=True))
    assert summary_line(result).endswith(" - passed")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_judging_while_the_program_runs_gives_the_verdict_of_judging_afterwards(judge, stack: str) -> None:
    # A mutation makes the gate judge the finished run; without one it judges each resource as it is recorded.
    streamed, afterwards = judge(stack), judge(stack, lambda run: None)

    def verdict(result: GateResult) -> list[tuple[str, str, str, str]]:
        return sorted((v.level, v.policy, v.urn, v.message) for v in result.violations)

    assert streamed.exit_code == afterwards.exit_code == EXIT_OK
    assert verdict(streamed) == verdict(afterwards)
    assert not [t for t in threading.enumerate() if t.name == "policy-analysis"]


EGRESS_ONLY_NAT = {name: {"egressOnlyNat": True}
                   for name in ("no-internet-gateway", "no-internet-route", "no-nat-gateway", "no-elastic-ip")}


@pytest.mark.parametrize("first_deploy", [False, True])
def test_egress_nat_passes_only_with_the_declared_exception(judge, first_deploy: bool) -> None:
    overrides = {"clickhouse-aws:egress": "nat"}
    without = judge("dev", overrides=overrides, first_deploy=first_deploy)
    assert {"no-internet-gateway", "no-nat-gateway", "no-elastic-ip"} <= without.policies()
    declared = judge("dev", overrides=overrides, policy_config={**load_policy_config("dev"), **EGRESS_ONLY_NAT},
                     first_deploy=first_deploy)
    assert declared.error is None and declared.mandatory == [], [f"{v.policy}: {v.message}" for v in declared.mandatory]
    assert declared.run.of_type("aws:ec2/natGateway:NatGateway")
