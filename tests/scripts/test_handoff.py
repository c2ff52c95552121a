"""The BYOC handoff document: checklist order, every value handed over, no secret, and clear input errors."""

from __future__ import annotations

import copy
import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scripts.handoff import BYOC_SECTIONS, HandoffError, main, render_handoff
from scripts.project import REPO
from tests.helpers import DATA

# The audit's realistic sample is held to the same expectations as this suite's own data.
SAMPLES = [DATA / "handoff_outputs.json", DATA / "outputs.prod.sample.json"]

CHECKLIST_ORDER = [
    "AWS account and region",
    "VPC, subnets and availability zones",
    "Security groups",
    "IAM roles",
    "KMS keys",
    "S3 buckets",
    "CloudWatch log groups",
    "Route53",
    "PrivateLink",
]


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def headings(document: str) -> list[str]:
    return re.findall(r"^## (?:\d+\. )?(.+)$", document, re.M)


def leaf_values(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [leaf for child in value.values() for leaf in leaf_values(child)]
    if isinstance(value, list):
        return [leaf for child in value for leaf in leaf_values(child)]
    return [str(value)]


@pytest.fixture(params=SAMPLES, ids=lambda p: p.name)
def outputs(request: pytest.FixtureRequest) -> dict[str, Any]:
    return load(request.param)


def test_sections_follow_the_clickhouse_checklist(outputs: dict[str, Any]) -> None:
    found = headings(render_handoff(outputs))
    assert found[: len(CHECKLIST_ORDER)] == CHECKLIST_ORDER
    assert found[-1] == "Next steps"
    assert [s.title for s in BYOC_SECTIONS] == CHECKLIST_ORDER[:-1]


def test_every_byoc_value_is_handed_over(outputs: dict[str, Any]) -> None:
    document = render_handoff(outputs)
    byoc = outputs["byoc"]
    for value in leaf_values(byoc):
        if value != "[secret]":
            assert f"`{value}`" in document, value
    for key in ("vpc_endpoint_service_name", "private_dns_hostname", "vpc_endpoint_id", "client_security_group_id"):
        assert f"`{outputs[key]}`" in document


def test_values_land_in_their_section(outputs: dict[str, Any]) -> None:
    document = render_handoff(outputs)
    sections = dict(zip(headings(document), re.split(r"^## .+$", document, flags=re.M)[1:]))
    byoc = outputs["byoc"]
    assert byoc["account_id"] in sections["AWS account and region"]
    assert byoc["subnet_ids"][0] in sections["VPC, subnets and availability zones"]
    assert byoc["security_group_ids"]["pods"] in sections["Security groups"]
    assert byoc["role_arns"]["management"] in sections["IAM roles"]
    assert byoc["kms_key_arns"]["ebs"] in sections["KMS keys"]
    assert byoc["buckets"]["backups"]["name"] in sections["S3 buckets"]
    assert byoc["log_group_names"]["query"] in sections["CloudWatch log groups"]
    assert byoc["hosted_zone_id"] in sections["Route53"]
    assert outputs["vpc_endpoint_service_name"] in sections["PrivateLink"]


def test_no_secret_reaches_the_document(outputs: dict[str, Any]) -> None:
    tampered = copy.deepcopy(outputs)
    tampered["byoc"]["external_id"] = "ext-id-must-not-leak"
    tampered["byoc"]["role_arns"]["ExternalId"] = "nested-ext-id-must-not-leak"
    tampered["byoc"]["kms_key_arns"]["s3"] = "[secret]"
    tampered["byoc"]["future_value"] = "[secret]"
    tampered["clickhouse_password"] = "hunter2"
    document = render_handoff(tampered)
    for leaked in ("ext-id-must-not-leak", "nested-ext-id-must-not-leak", "hunter2", "[secret]"):
        assert leaked not in document
    assert "| S3 buckets | *withheld (secret)* |" in document
    assert "| future_value | *withheld (secret)* |" in document


@pytest.mark.parametrize("key", ["externalId", "external_id", "EXTERNAL-ID", "ExternalID", "sts_external_id"])
def test_an_external_id_is_dropped_wherever_it_sits(outputs: dict[str, Any], key: str) -> None:
    tampered = copy.deepcopy(outputs)
    tampered["byoc"]["trusts"] = [{"role": "management", key: "in-a-list-must-not-leak"},
                                  [{"deeper": {key: "deep-in-lists-must-not-leak"}}]]
    tampered["byoc"]["role_arns"]["management_trust"] = {"conditions": [{key: "nested-must-not-leak"}]}
    tampered[key] = "top-level-must-not-leak"
    tampered["byoc"]["management_trust_policy"] = json.dumps(
        {"Condition": {"StringEquals": {f"sts:{key}": "serialised-must-not-leak"}}})
    document = render_handoff(tampered)
    assert "must-not-leak" not in document
    assert "| management_trust_policy | *withheld (secret)* |" in document
    assert "management" in document.split("## 10. Other values", 1)[1], "the rest of the list is still handed over"


@pytest.mark.parametrize(("edit", "fragment"), [
    (lambda o: o.update(aws_region="eu-west-1"), "disagree about the AWS region"),
    (lambda o: o["byoc"].update(region="eu-west-1"), "disagree about the AWS region"),
    (lambda o: o["byoc"].update(sns_topic_arn=o["byoc"]["sns_topic_arn"].replace(o["byoc"]["region"], "eu-west-1")),
     "disagree about the AWS region"),
    (lambda o: o["byoc"].update(availability_zones=["eu-west-1a", "eu-west-1b"]), "disagree about the AWS region"),
    (lambda o: o["byoc"].update(account_id="210987654321"), "disagree about the AWS account"),
    (lambda o: o["byoc"]["role_arns"].update(
        management=o["byoc"]["role_arns"]["management"].replace(o["byoc"]["account_id"], "210987654321")),
     "disagree about the AWS account"),
])
def test_outputs_naming_two_regions_or_accounts_are_refused(outputs: dict[str, Any], edit: Any,
                                                           fragment: str) -> None:
    tampered = copy.deepcopy(outputs)
    edit(tampered)
    with pytest.raises(HandoffError, match=fragment) as raised:
        render_handoff(tampered)
    assert "eu-west-1" in str(raised.value) or "210987654321" in str(raised.value)


def stdin_main(data: bytes, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    code = main(["--outputs", "-"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(("data", "fragment"), [
    (b'{"byoc": "\xff"}', "is not UTF-8"),
    (b"[" * 100000, "nests values"),
    (b'{"byoc": {"account_id": "210987654321", "role_arns": {"management": "arn:aws:iam::111122223333:role/m"}}}',
     "disagree about the AWS account"),
])
def test_cli_refuses_hostile_standard_input(data: bytes, fragment: str, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = stdin_main(data, monkeypatch, capsys)
    assert code == 2 and out == "" and fragment in err


def test_cli_reads_standard_input(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    outputs = load(DATA / "handoff_outputs.json")
    code, out, _ = stdin_main(json.dumps(outputs).encode(), monkeypatch, capsys)
    assert code == 0 and out == render_handoff(outputs)


def test_entry_point_refuses_a_hostile_file_on_standard_input_without_traceback() -> None:
    done = subprocess.run([sys.executable, "-m", "scripts.handoff", "--outputs", "-"], cwd=REPO,
                          input=b'{"byoc": ' + b"7" * 5000 + b"}", capture_output=True, timeout=60)
    assert done.returncode == 2 and done.stdout == b""
    assert b"integer with 5000 digits" in done.stderr and b"Traceback" not in done.stderr


def test_values_beyond_the_checklist_are_kept_in_other_values(outputs: dict[str, Any]) -> None:
    extended = copy.deepcopy(outputs)
    extended["byoc"]["eks_cluster_name"] = "clickhouse-byoc"
    role = f"arn:aws:iam::{outputs['byoc']['account_id']}:role/ebs-csi"
    extended["byoc"]["role_arns"]["ebs_csi"] = role
    document = render_handoff(extended)
    other = document.split("## 10. Other values", 1)[1]
    assert "| eks_cluster_name | `clickhouse-byoc` |" in other
    assert f"| role_arns.ebs_csi | `{role}` |" in other


def test_irsa_is_pending_until_phase_3_then_listed() -> None:
    outputs = load(DATA / "handoff_outputs.json")
    pending = render_handoff(outputs)
    assert "| IRSA role ARN (ClickHouse pods) | *pending: created once ClickHouse shares the EKS OIDC issuer URL" \
           in pending
    assert "pulumi config set clickhouse-aws:byocOidcIssuerUrl" in pending
    outputs["byoc"]["role_arns"]["irsa"] = "arn:aws:iam::123456789012:role/clickhouse-irsa"
    del outputs["byoc"]["clickhouse_record_name"]
    half = render_handoff(outputs)
    assert "| IRSA role ARN (ClickHouse pods) | `arn:aws:iam::123456789012:role/clickhouse-irsa` |" in half
    assert "| ClickHouse record | *pending: created once ClickHouse shares the NLB DNS name (phase 3)* |" in half
    assert "byocNlbDnsName" in half
    outputs["byoc"]["clickhouse_record_name"] = "clickhouse.clickhouse.internal.example"
    done = render_handoff(outputs)
    assert "byocOidcIssuerUrl" not in done and "customer side of BYOC is complete" in done


def test_missing_values_are_flagged_not_invented() -> None:
    outputs = load(DATA / "handoff_outputs.json")
    del outputs["byoc"]["vpc_cidr"]
    assert "| VPC CIDR | *missing from the outputs* |" in render_handoff(outputs)


@pytest.mark.parametrize(("byoc", "fragment"), [
    (None, "no `byoc` section"),
    ("[secret]", "marked secret"),
    (["vpc-1"], "must be an object"),
])
def test_unusable_byoc_raises(byoc: Any, fragment: str) -> None:
    outputs = load(DATA / "handoff_outputs.json")
    if byoc is None:
        del outputs["byoc"]
    else:
        outputs["byoc"] = byoc
    with pytest.raises(HandoffError, match=re.escape(fragment)):
        render_handoff(outputs)


def test_cli_writes_the_document(tmp_path: Path) -> None:
    target = tmp_path / "handoff.md"
    assert main(["--outputs", str(DATA / "handoff_outputs.json"), "-o", str(target)]) == 0
    assert target.read_text() == render_handoff(load(DATA / "handoff_outputs.json"))


@pytest.mark.parametrize("sample", [None, DATA / "outputs.dev.sample.json"],
                         ids=lambda p: p.name if p else "prod-without-byoc")
def test_cli_without_byoc_exits_2_with_one_message(tmp_path: Path, sample: Path | None) -> None:
    if sample is None:
        outputs = load(DATA / "handoff_outputs.json")
        del outputs["byoc"]
        source = tmp_path / "outputs.dev.json"
        source.write_text(json.dumps(outputs))
    else:
        source = sample
    done = subprocess.run([sys.executable, "-m", "scripts.handoff", "--outputs", str(source)], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("error: The stack outputs have no `byoc` section")
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(("content", "fragment"), [
    (None, "does not exist"),
    ("not json", "is not valid JSON"),
    ("[1, 2]", "must hold a JSON object"),
    ('{"byoc": ' * 200 + "{}" + "}" * 200, "nests values"),
    ('{"byoc": {"account_id": ' + "1" * 5000 + "}}", "holds an integer with 5000 digits"),
])
def test_cli_rejects_unusable_files(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None,
                                    fragment: str) -> None:
    source = tmp_path / "outputs.json"
    if content is not None:
        source.write_text(content)
    assert main(["--outputs", str(source)]) == 2
    assert fragment in capsys.readouterr().err


@pytest.mark.parametrize(("egress", "said"), [("none", True), ("nat", False), ("transit-gateway", False)])
def test_the_egress_mode_is_handed_over_and_an_acknowledged_none_is_said(egress, said):
    outputs = load(DATA / "handoff_outputs.json")
    outputs["byoc"]["egress"] = egress
    document = render_handoff(outputs)
    assert re.search(rf"\| Egress \(outbound internet for Tailscale\) \| `?{re.escape(egress)}`? \|", document)
    assert ("Egress acknowledged as none" in headings(document)) is said
    assert ("UDP 41641" in document) is said
