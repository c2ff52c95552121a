"""``python -m scripts.stack`` end to end, with the Automation API replaced by a recording fake at the factory seam.

The fake raises the SDK's own error classes (built by ``create_command_error`` from CLI-like output) and feeds real
``EngineEvent`` objects to ``on_event``, so the script sees what a real run would hand it.
"""

from __future__ import annotations

import inspect
import io
import json
import stat
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from pulumi import automation as auto
from pulumi.automation.errors import create_command_error

from scripts.audit import AuditError, AuditReport
from scripts.audit.checks import AuditOptions
from scripts.audit.model import CheckResult, CheckStatus, Finding
from scripts.stack import cli as stack_cli
from scripts.stack import runner as stack_runner
from scripts.stack.errors import ExitCode
from scripts.stack.runner import StackRequest
from scripts.verify.report import CheckResult as VerifyCheck
from scripts.verify.report import Report as VerifyReport
from scripts.verify.report import Status as VerifyStatus
from scripts.verify.report import VerifyError
from scripts.verify.runner import Options as VerifyOptions
from tests.helpers import DATA

PASSPHRASE_ENV = {"PULUMI_CONFIG_PASSPHRASE": "correct horse"}
NAT_URN = "urn:pulumi:prod::clickhouse-aws::aws:ec2/natGateway:NatGateway::nat"
KEY_URN = "urn:pulumi:prod::clickhouse-aws::clickhouse-aws:index:ServicePassword$aws:kms/key:Key::secrets"
SERVICE_URN = ("urn:pulumi:prod::clickhouse-aws::clickhouse-aws:index:ClickHouseService$"
               "clickhouse:index/service:Service::svc")
BUCKET_URN = "urn:pulumi:prod::clickhouse-aws::aws:s3/bucket:Bucket::scratch"

BASE_OUTPUTS: dict[str, auto.OutputValue] = {
    "aws_region": auto.OutputValue("us-east-1", False),
    "clickhouse_url": auto.OutputValue("https://abc.us-east-1.vpce.aws.clickhouse.cloud:8443", False),
    "clickhouse_user": auto.OutputValue("default", False),
    "clickhouse_password_secret_arn": auto.OutputValue(
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:clickhouse-aws/dev/clickhouse/default-AbCdEf", False),
    "client_security_group_id": auto.OutputValue("sg-0aaa1111bbbb2222c", False),
    "endpoint_security_group_id": auto.OutputValue("sg-0ddd3333eeee4444f", False),
    "vpc_endpoint_id": auto.OutputValue("vpce-0123456789abcdef0", False),
    "vpc_endpoint_service_name": auto.OutputValue("com.amazonaws.vpce.us-east-1.vpce-svc-0a1b2c3d4e5f67890", False),
    "private_dns_hostname": auto.OutputValue("abc.us-east-1.vpce.aws.clickhouse.cloud", False),
    "private_dns_zone_id": auto.OutputValue("Z0123456789ABCDEFGHIJ", False),
    "service_id": auto.OutputValue("6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b", False),
    "vpc_id": auto.OutputValue("vpc-0a1b2c3d4e5f60000", False),
    "subnet_ids": auto.OutputValue(["subnet-0a1b2c3d4e5f60011", "subnet-0a1b2c3d4e5f60012"], False),
    # A secret output the program might add later: it must never leak through any command.
    "admin_token": auto.OutputValue("hunter2-very-secret", True),
}
BYOC_OUTPUT = json.loads((DATA / "handoff_outputs.json").read_text())["byoc"]


def policy_event(level: str, policy: str = "no-nat-gateway", urn: str = NAT_URN) -> dict[str, Any]:
    """An engine event as the CLI streams it (apitype JSON)."""
    return {"sequence": 1, "timestamp": 0, "policyEvent": {
        "message": f"{policy} violated", "color": "never", "policyName": policy,
        "policyPackName": "clickhouse-aws-policy", "policyPackVersion": "0.1.0", "policyPackVersionTag": "0.1.0",
        "enforcementLevel": level, "resourceUrn": urn,
    }}


def cli_error(stdout: str = "", stderr: str = "", code: int = 255) -> auto.CommandError:
    """The exception the SDK raises for a CLI run that printed this and exited with ``code``."""
    return create_command_error(auto.CommandResult(stdout=stdout, stderr=stderr, code=code))


def update_summary(changes: dict[str, int]) -> auto.UpdateSummary:
    return auto.UpdateSummary(kind="update", start_time=datetime(2025, 1, 1), message="", environment={}, config={},
                              result="succeeded", resource_changes=changes)


class FakeStack:
    """Records every call with its keyword arguments and plays back events, output lines and errors."""

    def __init__(self, *, outputs: dict[str, auto.OutputValue] | None = None, config: dict[str, str] | None = None,
                 protected: tuple[str, ...] = (), events: dict[str, list[dict[str, Any]]] | None = None,
                 errors: dict[str, BaseException] | None = None,
                 outputs_after_up: dict[str, auto.OutputValue] | None = None) -> None:
        self._outputs = dict(BASE_OUTPUTS if outputs is None else outputs)
        self._outputs_after_up = outputs_after_up
        self._config = {k: auto.ConfigValue(v) for k, v in (config or {}).items()}
        self._protected = protected
        self._events = events or {}
        self._errors = errors or {}
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def _operation(self, name: str, kwargs: dict[str, Any]) -> None:
        # The SDK rejects unknown keyword arguments; binding to the real method's signature catches a misspelt one.
        inspect.signature(getattr(auto.Stack, name)).bind(self, **kwargs)
        self.calls.append((name, kwargs))
        kwargs["on_output"](f"[{name}] progress line from the CLI")
        for event in self._events.get(name, []):
            kwargs["on_event"](auto.EngineEvent.from_json(event))
        if name in self._errors:
            raise self._errors[name]

    def called(self) -> list[str]:
        return [name for name, _ in self.calls]

    def kwargs(self, name: str) -> dict[str, Any]:
        return next(kw for called, kw in self.calls if called == name)

    def preview(self, **kwargs: Any) -> auto.PreviewResult:
        self._operation("preview", kwargs)
        return auto.PreviewResult(stdout="", stderr="", change_summary={"create": 4, "same": 10})

    def up(self, **kwargs: Any) -> auto.UpResult:
        self._operation("up", kwargs)
        if self._outputs_after_up is not None:
            self._outputs = dict(self._outputs_after_up)
        return auto.UpResult(stdout="", stderr="", summary=update_summary({"create": 4, "same": 10}),
                             outputs=dict(self._outputs))

    def refresh(self, **kwargs: Any) -> auto.RefreshResult:
        self._operation("refresh", kwargs)
        return auto.RefreshResult(stdout="", stderr="", summary=update_summary({"update": 1, "same": 13}))

    def destroy(self, **kwargs: Any) -> auto.DestroyResult:
        self._operation("destroy", kwargs)
        return auto.DestroyResult(stdout="", stderr="", summary=update_summary({"delete": 14}))

    def outputs(self) -> dict[str, auto.OutputValue]:
        self.calls.append(("outputs", {}))
        return dict(self._outputs)

    def export_stack(self) -> auto.Deployment:
        self.calls.append(("export_stack", {}))
        resources = [{"urn": urn, "protect": True} for urn in self._protected]
        resources.append({"urn": BUCKET_URN, "protect": False})
        return auto.Deployment(version=3, deployment={"resources": resources})

    def get_all_config(self) -> dict[str, auto.ConfigValue]:
        self.calls.append(("get_all_config", {}))
        return dict(self._config)


class FakeFactory:
    def __init__(self, stack: FakeStack | None = None, error: BaseException | None = None) -> None:
        self.stack = stack or FakeStack()
        self.error = error
        self.requests: list[StackRequest] = []

    def check(self) -> None:
        """Opening stacks always works here: the fake needs no CLI."""

    def __call__(self, request: StackRequest) -> FakeStack:
        self.requests.append(request)
        if self.error is not None:
            raise self.error
        return self.stack


class Run:
    def __init__(self, code: int, stdout: str, stderr: str) -> None:
        self.code, self.stdout, self.stderr = code, stdout, stderr


def run(repo: Path, factory: Any, *argv: str, environ: dict[str, str] | None = None, **seams: Any) -> Run:
    out, err = io.StringIO(), io.StringIO()
    code = stack_cli.main(list(argv), factory=factory, environ=PASSPHRASE_ENV if environ is None else environ,
                          stdout=out, stderr=err, work_dir=repo, **seams)
    assert "Traceback" not in err.getvalue()
    return Run(code, out.getvalue(), err.getvalue())


# -- preview -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["dev", "prod"])
def test_preview_always_runs_the_policy_pack_with_the_stacks_config(repo: Path, name: str) -> None:
    factory = FakeFactory()
    result = run(repo, factory, "preview", "--stack", name)
    assert result.code == ExitCode.OK
    assert factory.requests[0].create is False and factory.requests[0].settings.stack == name
    kwargs = factory.stack.kwargs("preview")
    assert kwargs["policy_packs"] == [str(repo / "policy")]
    assert kwargs["policy_pack_configs"] == [str(repo / "policy" / f"config.{name}.json")]
    assert Path(kwargs["policy_packs"][0]).is_absolute()
    assert kwargs["refresh"] is False and kwargs["target"] is None
    assert kwargs["color"] == "never"
    assert isinstance(kwargs["on_event"], stack_runner.PolicyLog)
    # Progress lines are streamed to the terminal as the CLI prints them.
    assert "[preview] progress line from the CLI" in result.stdout


def test_preview_passes_refresh_and_targets(repo: Path) -> None:
    factory = FakeFactory()
    result = run(repo, factory, "preview", "--stack", "dev", "--refresh", "--target", NAT_URN, "--target", KEY_URN)
    assert result.code == ExitCode.OK
    kwargs = factory.stack.kwargs("preview")
    assert kwargs["refresh"] is True
    assert kwargs["target"] == [NAT_URN, KEY_URN]


def test_any_stack_with_a_stack_file_and_a_policy_config_can_be_previewed(repo: Path) -> None:
    (repo / "Pulumi.staging.yaml").write_text("config: {}\n")
    (repo / "policy" / "config.staging.json").write_text("{}")
    factory = FakeFactory()
    assert run(repo, factory, "preview", "--stack", "staging").code == ExitCode.OK
    assert factory.requests[0].settings.stack == "staging"


def test_a_stack_without_a_stack_file_exits_2_naming_the_stacks(repo: Path) -> None:
    factory = FakeFactory()
    result = run(repo, factory, "preview", "--stack", "staging", "--json")
    assert result.code == ExitCode.USAGE and factory.requests == []
    assert "no stack file Pulumi.staging.yaml" in result.stderr and "(stacks: dev, prod)" in result.stderr
    assert json.loads(result.stdout)["exit_code"] == ExitCode.USAGE


@pytest.mark.parametrize("command", ["preview", "up", "bootstrap"])
def test_no_flag_skips_the_policy_pack(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        stack_cli.main([command, "--help"])
    assert exited.value.code == 0
    flags = {word for word in capsys.readouterr().out.split() if word.startswith("--")}
    assert "--stack" in flags
    assert not any("polic" in flag or "skip" in flag for flag in flags)


@pytest.mark.parametrize("command", ["preview", "up", "bootstrap"])
def test_a_missing_policy_config_stops_before_the_stack_is_touched(repo: Path, command: str) -> None:
    (repo / "policy" / "config.prod.json").unlink()
    factory = FakeFactory()
    result = run(repo, factory, command, "--stack", "prod")
    assert result.code == ExitCode.USAGE
    assert "policy/config.prod.json is missing" in result.stderr
    assert factory.requests == []


def test_preview_reports_mandatory_violations_with_exit_7(repo: Path) -> None:
    stack = FakeStack(events={"preview": [policy_event("mandatory")]},
                      errors={"preview": cli_error(stdout="Policy Violations: ...")})
    result = run(repo, FakeFactory(stack), "preview", "--stack", "prod")
    assert result.code == ExitCode.POLICY_VIOLATION
    assert "no-nat-gateway on " + NAT_URN in result.stderr
    assert "cannot be skipped" in result.stderr


# -- up ------------------------------------------------------------------------------------------------------------

def test_up_previews_with_policy_then_updates_with_the_same_arguments(repo: Path) -> None:
    factory = FakeFactory()
    result = run(repo, factory, "up", "--stack", "dev", "--target", NAT_URN)
    assert result.code == ExitCode.OK
    assert factory.requests[0].create is True
    assert factory.stack.called() == ["preview", "up"]
    for name in ("preview", "up"):
        kwargs = factory.stack.kwargs(name)
        assert kwargs["policy_packs"] == [str(repo / "policy")]
        assert kwargs["policy_pack_configs"] == [str(repo / "policy" / "config.dev.json")]
        assert kwargs["target"] == [NAT_URN]
        assert kwargs["refresh"] is False
        assert kwargs["on_output"] == factory.stack.kwargs("preview")["on_output"]


def test_up_stops_on_a_mandatory_violation_event_before_updating(repo: Path) -> None:
    stack = FakeStack(events={"preview": [policy_event("advisory", "secret-customer-kms-key"),
                                          policy_event("mandatory", "no-nat-gateway")]},
                      errors={"preview": cli_error(stdout="error: preview failed")})
    result = run(repo, FakeFactory(stack), "up", "--stack", "prod", "--yes", "--json")
    assert result.code == ExitCode.POLICY_VIOLATION
    assert stack.called() == ["preview"]
    assert "nothing was applied" in result.stderr
    summary = json.loads(result.stdout)
    assert summary["ok"] is False and summary["exit_code"] == ExitCode.POLICY_VIOLATION
    assert [(v["policy"], v["enforcement_level"]) for v in summary["policy_violations"]] == [
        ("secret-customer-kms-key", "advisory"), ("no-nat-gateway", "mandatory")]


def test_up_recognises_mandatory_violations_from_cli_output_without_events(repo: Path) -> None:
    printed = (
        "Policies:\n"
        "    \u274c clickhouse-aws-policy@v0.1.0 (local: /repo/policy)\n"
        "        - [mandatory]  no-nat-gateway  (aws:ec2/natGateway:NatGateway: nat)\n"
        "          NAT gateways are not allowed\n"
    )
    stack = FakeStack(errors={"preview": cli_error(stdout=printed)})
    result = run(repo, FakeFactory(stack), "up", "--stack", "dev", "--json")
    assert result.code == ExitCode.POLICY_VIOLATION
    assert stack.called() == ["preview"]
    assert "no-nat-gateway on aws:ec2/natGateway:NatGateway: nat" in result.stderr
    (violation,) = json.loads(result.stdout)["policy_violations"]
    assert violation["pack"] == "clickhouse-aws-policy" and violation["enforcement_level"] == "mandatory"


def test_up_proceeds_past_advisory_violations(repo: Path) -> None:
    stack = FakeStack(events={"preview": [policy_event("advisory", "iam-no-admin-policy")]})
    result = run(repo, FakeFactory(stack), "up", "--stack", "dev")
    assert result.code == ExitCode.OK
    assert stack.called() == ["preview", "up"]


def test_up_on_prod_requires_yes_after_showing_the_preview(repo: Path) -> None:
    stack = FakeStack()
    result = run(repo, FakeFactory(stack), "up", "--stack", "prod")
    assert result.code == ExitCode.CONFIRMATION_REQUIRED
    assert stack.called() == ["preview"]
    assert "re-run with --yes" in result.stderr


def test_up_json_summary_is_the_only_thing_on_stdout(repo: Path) -> None:
    stack = FakeStack(events={"up": [policy_event("advisory", "secret-customer-kms-key")]})
    result = run(repo, FakeFactory(stack), "up", "--stack", "prod", "--yes", "--json")
    assert result.code == ExitCode.OK
    summary = json.loads(result.stdout)
    assert summary["ok"] is True and summary["command"] == "up" and summary["stack"] == "prod"
    assert summary["resource_changes"] == {"create": 4, "same": 10}
    assert summary["outputs"]["admin_token"] == "[secret]"
    assert summary["outputs"]["vpc_id"] == "vpc-0a1b2c3d4e5f60000"
    assert summary["policy_violations"][0]["policy"] == "secret-customer-kms-key"
    assert "hunter2" not in result.stdout + result.stderr
    # With --json the CLI's progress goes to stderr so stdout stays parseable.
    assert "[up] progress line from the CLI" in result.stderr


def test_up_reports_a_failed_update_with_the_cli_error_lines(repo: Path) -> None:
    printed = ("  aws:ec2:Vpc network-vpc creating (1s) error: operation error EC2: CreateVpc, VpcLimitExceeded\n"
               "error: update failed\n")
    stack = FakeStack(errors={"up": cli_error(stdout=printed)})
    result = run(repo, FakeFactory(stack), "up", "--stack", "dev")
    assert result.code == ExitCode.OPERATION_FAILED
    assert "`up` failed on stack 'dev'" in result.stderr
    assert "update failed" in result.stderr


# -- refresh and destroy -------------------------------------------------------------------------------------------

def test_refresh_passes_targets_and_no_policy_arguments(repo: Path) -> None:
    factory = FakeFactory()
    result = run(repo, factory, "refresh", "--stack", "dev", "--target", BUCKET_URN, "--json")
    assert result.code == ExitCode.OK
    kwargs = factory.stack.kwargs("refresh")
    assert kwargs["target"] == [BUCKET_URN]
    assert "policy_packs" not in kwargs and "refresh" not in kwargs
    assert json.loads(result.stdout)["resource_changes"] == {"update": 1, "same": 13}


def test_destroy_on_prod_without_yes_does_not_touch_the_stack(repo: Path) -> None:
    factory = FakeFactory()
    result = run(repo, factory, "destroy", "--stack", "prod")
    assert result.code == ExitCode.CONFIRMATION_REQUIRED
    assert factory.requests == []


@pytest.mark.parametrize(("protect", "code"), [("true", ExitCode.CONFIRMATION_REQUIRED), ("false", ExitCode.OK)])
def test_destroy_asks_for_yes_on_any_protected_stack_not_only_prod(repo: Path, protect: str, code: ExitCode) -> None:
    (repo / "Pulumi.staging.yaml").write_text(f"config:\n  clickhouse-aws:protect: {protect}\n")
    (repo / "policy" / "config.staging.json").write_text("{}")
    factory = FakeFactory()
    result = run(repo, factory, "destroy", "--stack", "staging")
    assert result.code == code
    if code is ExitCode.CONFIRMATION_REQUIRED:
        assert factory.requests == []
        assert "`destroy` on stack 'staging' changes protected resources" in result.stderr
    else:
        assert "destroy" in factory.stack.called()


def test_destroy_refuses_while_resources_are_protected_and_says_how_to_unprotect(repo: Path) -> None:
    stack = FakeStack(protected=(KEY_URN, SERVICE_URN))
    result = run(repo, FakeFactory(stack), "destroy", "--stack", "prod", "--yes")
    assert result.code == ExitCode.PROTECTED_RESOURCES
    assert "destroy" not in stack.called()
    assert KEY_URN in result.stderr and SERVICE_URN in result.stderr
    assert "pulumi state unprotect --all --stack prod" in result.stderr
    assert "pulumi config set clickhouse-aws:protect false --stack prod" in result.stderr


def test_destroy_of_an_unprotected_target_is_allowed(repo: Path) -> None:
    stack = FakeStack(protected=(KEY_URN,))
    result = run(repo, FakeFactory(stack), "destroy", "--stack", "prod", "--yes", "--target", BUCKET_URN)
    assert result.code == ExitCode.OK
    assert stack.kwargs("destroy")["target"] == [BUCKET_URN]


def test_destroy_on_dev_passes_refresh_and_streams(repo: Path) -> None:
    stack = FakeStack()
    result = run(repo, FakeFactory(stack), "destroy", "--stack", "dev", "--refresh")
    assert result.code == ExitCode.OK
    kwargs = stack.kwargs("destroy")
    assert kwargs["refresh"] is True and kwargs["target"] is None
    assert "policy_packs" not in kwargs
    assert "[destroy] progress line from the CLI" in result.stdout


# -- outputs and handoff -------------------------------------------------------------------------------------------

def test_outputs_json_masks_secrets(repo: Path) -> None:
    result = run(repo, FakeFactory(), "outputs", "--stack", "dev")
    assert result.code == ExitCode.OK
    values = json.loads(result.stdout)
    assert values["admin_token"] == "[secret]"
    assert values["subnet_ids"] == ["subnet-0a1b2c3d4e5f60011", "subnet-0a1b2c3d4e5f60012"]


def test_outputs_show_secrets_writes_an_owner_only_file(repo: Path, tmp_path: Path) -> None:
    target = tmp_path / "outputs.dev.json"
    result = run(repo, FakeFactory(), "outputs", "--stack", "dev", "--show-secrets", "-o", str(target))
    assert result.code == ExitCode.OK and result.stdout == ""
    assert json.loads(target.read_text())["admin_token"] == "hunter2-very-secret"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_outputs_env_form_has_no_secret_value(repo: Path) -> None:
    result = run(repo, FakeFactory(), "outputs", "--stack", "dev", "--format", "env")
    assert result.code == ExitCode.OK
    assert "CLICKHOUSE_URL=https://abc.us-east-1.vpce.aws.clickhouse.cloud:8443" in result.stdout
    assert "AWS_REGION=us-east-1" in result.stdout
    assert "hunter2" not in result.stdout


def test_outputs_env_refuses_show_secrets(repo: Path) -> None:
    result = run(repo, FakeFactory(), "outputs", "--stack", "dev", "--format", "env", "--show-secrets")
    assert result.code == ExitCode.USAGE
    assert "never carries secret values" in result.stderr


def test_handoff_renders_the_byoc_document_from_the_stack(repo: Path) -> None:
    outputs = {**BASE_OUTPUTS, "byoc": auto.OutputValue(BYOC_OUTPUT, False)}
    result = run(repo, FakeFactory(FakeStack(outputs=outputs)), "handoff", "--stack", "prod")
    assert result.code == ExitCode.OK
    assert result.stdout.startswith("# ClickHouse BYOC handoff: AWS account 123456789012, us-east-1")
    assert "hunter2" not in result.stdout


def test_handoff_without_byoc_exits_2(repo: Path) -> None:
    result = run(repo, FakeFactory(), "handoff", "--stack", "dev")
    assert result.code == ExitCode.USAGE == 2
    assert "no `byoc` section" in result.stderr


# -- audit ---------------------------------------------------------------------------------------------------------

class FakeAuditor:
    """Stands in for scripts.audit.run_audit: records the outputs it was given and answers with a fixed report."""

    def __init__(self, findings: tuple[Finding, ...] = (), error: str | None = None) -> None:
        self.findings, self.error = findings, error
        self.received: list[dict[str, Any]] = []
        self.options: list[AuditOptions] = []

    def __call__(self, outputs: dict[str, Any], options: AuditOptions) -> AuditReport:
        self.received.append(outputs)
        self.options.append(options)
        if self.error:
            raise AuditError(self.error)
        status = CheckStatus.FAIL if self.findings else CheckStatus.PASS
        return AuditReport("123456789012", "us-east-1",
                           (CheckResult("privatelink-endpoint", "ClickHouse endpoint", status, self.findings),))


def test_audit_hands_the_stacks_outputs_to_the_live_audit(repo: Path) -> None:
    auditor = FakeAuditor()
    result = run(repo, FakeFactory(FakeStack(outputs=BASE_OUTPUTS)), "audit", "--stack", "dev", auditor=auditor)
    assert result.code == ExitCode.OK
    # Plain outputs as they are; a secret one reaches the audit only masked (the audit never needs one).
    assert auditor.received == [{name: "[secret]" if value.secret else value.value
                                 for name, value in BASE_OUTPUTS.items()}]
    assert "hunter2" not in json.dumps(auditor.received)
    assert auditor.options == [AuditOptions()]
    assert "PASS  privatelink-endpoint" in result.stdout and "Summary: CLEAN" in result.stdout


def test_audit_findings_exit_11_after_printing_the_report(repo: Path) -> None:
    finding = Finding("security-group-no-public-ingress", "sg-0aaa1111bbbb2222c", "admits 0.0.0.0/0 on 8443")
    result = run(repo, FakeFactory(FakeStack(outputs=BASE_OUTPUTS)), "audit", "--stack", "prod", "--format", "json",
                 auditor=FakeAuditor((finding,)))
    assert result.code == ExitCode.AUDIT_FINDINGS == 11
    report = json.loads(result.stdout)
    assert report["findings"][0]["policy"] == "security-group-no-public-ingress"
    assert "found 1 finding(s)" in result.stderr




def test_audit_options_reach_the_live_audit(repo: Path) -> None:
    auditor = FakeAuditor()
    result = run(repo, FakeFactory(FakeStack(outputs=BASE_OUTPUTS)), "audit", "--stack", "prod",
                 "--allow-eks-public-endpoint", "--activity-days", "30", auditor=auditor)
    assert result.code == ExitCode.OK
    assert auditor.options == [AuditOptions(allow_eks_public_endpoint=True, activity_days=30)]


# -- verify --------------------------------------------------------------------------------------------------------

class FakeVerifier:
    """Stands in for scripts.verify: records what it was given and answers with one check of the given status."""

    def __init__(self, status: VerifyStatus = VerifyStatus.PASS, error: str | None = None) -> None:
        self.status, self.error = status, error
        self.received: list[tuple[dict[str, Any], VerifyOptions]] = []

    def __call__(self, outputs: dict[str, Any], options: VerifyOptions) -> VerifyReport:
        self.received.append((outputs, options))
        if self.error:
            raise VerifyError(self.error)
        check = VerifyCheck("query", "SELECT 1 over HTTPS", self.status, "SELECT 1 answered 1")
        return VerifyReport(outputs["clickhouse_url"], "us-east-1", outputs["vpc_id"], (check,))


def test_verify_hands_the_stacks_outputs_and_options_to_the_check(repo: Path) -> None:
    verifier = FakeVerifier()
    result = run(repo, FakeFactory(FakeStack(outputs=BASE_OUTPUTS)), "verify", "--stack", "dev", "--ca-file",
                 "/etc/ca.pem", "--timeout", "2.5", "--min-cert-days", "30", verifier=verifier)
    assert result.code == ExitCode.OK
    [(outputs, options)] = verifier.received
    assert outputs["clickhouse_password_secret_arn"] == BASE_OUTPUTS["clickhouse_password_secret_arn"].value
    assert outputs["admin_token"] == "[secret]", "the check reads the password from Secrets Manager, never outputs"
    assert options == VerifyOptions(ca_file="/etc/ca.pem", timeout=2.5, min_cert_days=30)
    assert "PASS  query" in result.stdout and "Summary: CLEAN" in result.stdout


def test_verify_failures_exit_11_after_printing_the_report(repo: Path) -> None:
    result = run(repo, FakeFactory(FakeStack(outputs=BASE_OUTPUTS)), "verify", "--stack", "prod", "--format", "json",
                 verifier=FakeVerifier(VerifyStatus.FAIL))
    assert result.code == ExitCode.AUDIT_FINDINGS == 11
    assert json.loads(result.stdout)["summary"]["failed"] == 1
    assert "connectivity check of stack 'prod' failed 1 check(s)" in result.stderr


@pytest.mark.parametrize(("command", "seam", "what"), [
    ("audit", {"auditor": FakeAuditor(error="The credentials belong to AWS account 999999999999.")}, "live audit"),
    ("verify", {"verifier": FakeVerifier(error="The credentials belong to AWS account 999999999999.")},
     "connectivity check"),
])
def test_an_audit_or_verify_that_cannot_run_exits_12(repo: Path, command: str, seam: dict[str, Any], what: str) -> None:
    result = run(repo, FakeFactory(FakeStack(outputs=BASE_OUTPUTS)), command, "--stack", "dev", **seam)
    assert result.code == ExitCode.AUDIT_FAILED == 12
    assert f"the {what} could not run" in result.stderr and "999999999999" in result.stderr
    assert result.stdout == ""


def test_verify_through_the_real_check_stops_on_unusable_aws_settings(repo: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "abc")
    result = run(repo, FakeFactory(FakeStack(outputs=BASE_OUTPUTS)), "verify", "--stack", "dev")
    assert result.code == ExitCode.AUDIT_FAILED
    assert "AWS_MAX_ATTEMPTS is 'abc'" in result.stderr and result.stdout == ""


@pytest.mark.parametrize("argument", [["--timeout", "0"], ["--min-cert-days", "x"], ["--format", "yaml"]])
def test_verify_rejects_bad_options_with_exit_2(repo: Path, argument: list[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        run(repo, FakeFactory(), "verify", "--stack", "dev", *argument)
    assert raised.value.code == 2


# -- plan and bootstrap --------------------------------------------------------------------------------------------

def test_plan_on_a_stack_not_created_yet_says_phase_1(repo: Path) -> None:
    factory = FakeFactory(error=cli_error(stderr="error: no stack named 'prod' found"))
    result = run(repo, factory, "plan", "--stack", "prod", "--json")
    assert result.code == ExitCode.OK
    assert "not created yet" in result.stderr
    phases = json.loads(result.stdout)["phases"]
    assert phases["state"] == "needs-up"
    assert "bootstrap --stack prod --yes" in phases["next"]


def test_plan_reads_config_and_outputs_without_changing_anything(repo: Path) -> None:
    outputs = {**BASE_OUTPUTS, "byoc": auto.OutputValue(BYOC_OUTPUT, False)}
    stack = FakeStack(outputs=outputs, config={"clickhouse-aws:byocEnabled": "true"})
    result = run(repo, FakeFactory(stack), "plan", "--stack", "prod")
    assert result.code == ExitCode.OK
    assert stack.called() == ["get_all_config", "outputs"]
    assert "[waiting for ClickHouse] 3." in result.stdout
    assert "pulumi config set clickhouse-aws:byocNlbDnsName <nlb-dns-name> --stack prod" in result.stdout


def test_bootstrap_dev_runs_phase_1_and_has_nothing_more(repo: Path, tmp_path: Path) -> None:
    stack = FakeStack(outputs={}, outputs_after_up=BASE_OUTPUTS, config={"clickhouse-aws:byocEnabled": "false"})
    handoff = tmp_path / "handoff.dev.md"
    factory = FakeFactory(stack)
    result = run(repo, factory, "bootstrap", "--stack", "dev", "--handoff-output", str(handoff))
    assert result.code == ExitCode.OK
    assert factory.requests[0].create is True
    assert stack.called() == ["get_all_config", "outputs", "preview", "up"]
    assert "[next] 1." in result.stdout and "[n/a] 2." in result.stdout
    assert "Nothing to do: every phase is applied." in result.stdout
    assert not handoff.exists()


def test_bootstrap_prod_writes_the_handoff_and_waits_for_clickhouse(repo: Path, tmp_path: Path) -> None:
    after = {**BASE_OUTPUTS, "byoc": auto.OutputValue(BYOC_OUTPUT, False)}
    stack = FakeStack(outputs={}, outputs_after_up=after,
                      config={"clickhouse-aws:byocEnabled": "true", "clickhouse-aws:byocOidcIssuerUrl": ""})
    handoff = tmp_path / "handoff.prod.md"
    result = run(repo, FakeFactory(stack), "bootstrap", "--stack", "prod", "--yes", "--handoff-output", str(handoff),
                 "--json")
    assert result.code == ExitCode.OK
    assert handoff.read_text().startswith("# ClickHouse BYOC handoff")
    assert f"Phase 2: wrote the BYOC handoff document to {handoff}" in result.stderr
    phases = json.loads(result.stdout)["phases"]
    assert phases["state"] == "waiting-for-clickhouse"
    assert [p["status"] for p in phases["phases"]] == ["done", "ready: send the document", "waiting for ClickHouse"]


def test_bootstrap_prod_needs_yes(repo: Path) -> None:
    stack = FakeStack(outputs={}, config={"clickhouse-aws:byocEnabled": "true"})
    result = run(repo, FakeFactory(stack), "bootstrap", "--stack", "prod")
    assert result.code == ExitCode.CONFIRMATION_REQUIRED
    assert "up" not in stack.called()


def test_bootstrap_phase_3_completes_once_clickhouse_facts_are_set(repo: Path, tmp_path: Path) -> None:
    config = {"clickhouse-aws:byocEnabled": "true", "clickhouse-aws:byocPodAccess": "irsa",
              "clickhouse-aws:byocOidcIssuerUrl": "https://oidc.eks.us-east-1.amazonaws.com/id/ABC",
              "clickhouse-aws:byocNlbDnsName": "internal-ch-123.elb.us-east-1.amazonaws.com"}
    roles = {name: arn for name, arn in BYOC_OUTPUT["role_arns"].items() if name != "pods"}
    byoc_before = {**BYOC_OUTPUT, "pod_access": "irsa", "role_arns": roles}
    before = {**BASE_OUTPUTS, "byoc": auto.OutputValue(byoc_before, False)}
    byoc_after = {**byoc_before, "role_arns": {**roles, "pods": "arn:aws:iam::123456789012:role/clickhouse-irsa"}}
    after = {**BASE_OUTPUTS, "byoc": auto.OutputValue(byoc_after, False)}
    stack = FakeStack(outputs=before, outputs_after_up=after, config=config)
    result = run(repo, FakeFactory(stack), "bootstrap", "--stack", "prod", "--yes",
                 "--handoff-output", str(tmp_path / "h.md"))
    assert result.code == ExitCode.OK
    assert "[next] 3." in result.stdout  # the status before the run
    assert "Nothing to do: every phase is applied." in result.stdout
    assert "arn:aws:iam::123456789012:role/clickhouse-irsa" in (tmp_path / "h.md").read_text()


# -- errors: one message, a distinct exit code, never a traceback --------------------------------------------------

@pytest.mark.parametrize(("error", "code", "expected"), [
    (cli_error(stderr="error: no stack named 'prod' found"), ExitCode.STACK_NOT_FOUND,
     "Stack 'prod' does not exist in backend"),
    (cli_error(stderr="error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) "
                      "to end or delete the lock file with `pulumi cancel`."),
     ExitCode.STACK_LOCKED, "pulumi cancel --stack prod"),
    (cli_error(stderr="error: [409] Conflict: Another update is currently in progress."),
     ExitCode.STACK_LOCKED, "locked by another update"),
    (cli_error(stderr="error: getting secrets manager: passphrase must be set with PULUMI_CONFIG_PASSPHRASE or "
                      "PULUMI_CONFIG_PASSPHRASE_FILE environment variables"),
     ExitCode.CREDENTIALS, "PULUMI_CONFIG_PASSPHRASE_FILE"),
    (cli_error(stderr="error: failed to load checkpoint: NoCredentialProviders: no valid providers in chain"),
     ExitCode.CREDENTIALS, "AWS credentials are missing or expired"),
    (auto.InvalidVersionError("Minimum version requirement failed."), ExitCode.CLI_MISSING,
     "Minimum version requirement failed"),
])
def test_opening_the_stack_fails_with_a_distinct_code(repo: Path, error: Exception, code: ExitCode,
                                                      expected: str) -> None:
    result = run(repo, FakeFactory(error=error), "outputs", "--stack", "prod")
    assert result.code == code
    assert expected in result.stderr
    assert result.stderr.count("error:") == 1


def test_aws_credentials_failure_during_preview_is_a_credentials_error(repo: Path) -> None:
    printed = ("error: get identity: get credentials: failed to refresh cached credentials, no EC2 IMDS role "
               "found")
    stack = FakeStack(errors={"preview": cli_error(stdout=printed)})
    result = run(repo, FakeFactory(stack), "preview", "--stack", "dev")
    assert result.code == ExitCode.CREDENTIALS


def test_missing_passphrase_is_reported_before_the_cli_runs(repo: Path) -> None:
    factory = FakeFactory()
    result = run(repo, factory, "preview", "--stack", "dev", environ={})
    assert result.code == ExitCode.CREDENTIALS
    assert "PULUMI_CONFIG_PASSPHRASE" in result.stderr and "PULUMI_CONFIG_PASSPHRASE_FILE" in result.stderr
    assert factory.requests == []


def test_passphrase_file_or_kms_provider_satisfy_the_check(repo: Path) -> None:
    assert run(repo, FakeFactory(), "outputs", "--stack", "dev",
               environ={"PULUMI_CONFIG_PASSPHRASE_FILE": "/run/secrets/pp"}).code == ExitCode.OK
    assert run(repo, FakeFactory(), "outputs", "--stack", "dev",
               environ={"PULUMI_BACKEND_URL": "s3://state-bucket/clickhouse-aws",
                        "PULUMI_SECRETS_PROVIDER": "awskms://alias/pulumi?region=us-east-1"}).code == ExitCode.OK


def test_backend_and_secrets_provider_reach_the_factory(repo: Path) -> None:
    factory = FakeFactory()
    run(repo, factory, "up", "--stack", "dev", "--backend-url", "s3://state-bucket/clickhouse-aws",
        "--secrets-provider", "awskms://alias/pulumi?region=us-east-1", environ={})
    settings = factory.requests[0].settings
    assert settings.backend_url == "s3://state-bucket/clickhouse-aws"
    assert settings.secrets_provider == "awskms://alias/pulumi?region=us-east-1"
    assert settings.work_dir == repo


def test_unexpected_errors_are_one_line_without_traceback(repo: Path) -> None:
    result = run(repo, FakeFactory(error=ValueError("boom")), "outputs", "--stack", "dev")
    assert result.code == ExitCode.UNEXPECTED
    assert "Unexpected ValueError: boom" in result.stderr


def test_debug_variable_lets_unexpected_errors_through(repo: Path) -> None:
    with pytest.raises(ValueError, match="boom"):
        run(repo, FakeFactory(error=ValueError("boom")), "outputs", "--stack", "dev",
            environ={**PASSPHRASE_ENV, stack_cli.DEBUG_VAR: "1"})


def test_interrupt_exits_130(repo: Path) -> None:
    stack = FakeStack(errors={"up": KeyboardInterrupt()})
    result = run(repo, FakeFactory(stack), "up", "--stack", "dev")
    assert result.code == ExitCode.INTERRUPTED == 130


# -- the real factory ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("environ", [PASSPHRASE_ENV, {}], ids=["passphrase-set", "no-passphrase"])
def test_real_factory_without_the_cli_exits_3_before_asking_for_a_passphrase(
        repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, environ: dict[str, str]) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result = run(repo, stack_runner.AutomationStacks(), "preview", "--stack", "dev", environ=environ)
    assert result.code == ExitCode.CLI_MISSING
    assert "Pulumi CLI is not on PATH" in result.stderr and "PASSPHRASE" not in result.stderr


@pytest.mark.parametrize(("command", "opener"), [("preview", "select_stack"), ("up", "create_or_select_stack")])
def test_real_factory_opens_a_local_program_stack_on_the_repo(repo: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch, command: str,
                                                              opener: str) -> None:
    calls: list[dict[str, Any]] = []

    def fake_open(**kwargs: Any) -> FakeStack:
        calls.append(kwargs)
        return FakeStack()

    monkeypatch.setattr(stack_runner.shutil, "which", lambda name: f"/usr/local/bin/{name}")
    monkeypatch.setattr(stack_runner.auto, opener, fake_open)
    state = tmp_path / "state"
    result = run(repo, stack_runner.AutomationStacks(), command, "--stack", "dev",
                 "--backend-url", f"file://{state}")
    assert result.code == ExitCode.OK
    (kwargs,) = calls
    assert kwargs["stack_name"] == "dev" and kwargs["work_dir"] == str(repo)
    assert kwargs["opts"].env_vars == {"PULUMI_BACKEND_URL": f"file://{state}"}
    assert kwargs["opts"].secrets_provider is None
    assert state.is_dir()


def test_real_factory_maps_a_vanished_cli_to_exit_3(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def vanished(**kwargs: Any) -> FakeStack:
        raise FileNotFoundError(2, "No such file or directory", "pulumi")

    monkeypatch.setattr(stack_runner.shutil, "which", lambda name: f"/usr/local/bin/{name}")
    monkeypatch.setattr(stack_runner.auto, "select_stack", vanished)
    result = run(repo, stack_runner.AutomationStacks(), "outputs", "--stack", "dev",
                 "--backend-url", "s3://state-bucket/x")
    assert result.code == ExitCode.CLI_MISSING

