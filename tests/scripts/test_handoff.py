"""The BYOC handoff document: what ClickHouse needs to start, then what to use if agreed; every value handed over, no
secret, and clear input errors."""

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

from scripts.handoff import BYOC_SECTIONS, IF_AGREED, NEEDED_TO_START, HandoffError, main, render_handoff
from scripts.project import REPO
from tests.helpers import DATA

# The audit's realistic sample is held to the same expectations as this suite's own data.
SAMPLES = [DATA / "handoff_outputs.json", DATA / "outputs.prod.sample.json"]

START = ["AWS account and region", "VPC, subnets and availability zones", "Egress", "Bootstrap role"]
AGREED = ["Security groups", "IAM roles", "KMS keys", "S3 buckets", "CloudWatch log groups", "Route53"]
CHECKLIST_ORDER = [*START, *AGREED, "PrivateLink"]


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


def parts(document: str) -> dict[str, str]:
    """The text of each top-level part, by its title."""
    chunks = re.split(r"^# (Part \d\. .+)$", document, flags=re.M)
    return dict(zip(chunks[1::2], chunks[2::2]))


def test_sections_follow_the_clickhouse_checklist(outputs: dict[str, Any]) -> None:
    found = headings(render_handoff(outputs))
    assert found[: len(CHECKLIST_ORDER)] == CHECKLIST_ORDER
    assert found[-1] == "Next steps"
    assert [s.title for s in NEEDED_TO_START] == START and [s.title for s in IF_AGREED] == AGREED
    assert BYOC_SECTIONS == NEEDED_TO_START + IF_AGREED


def test_what_clickhouse_needs_to_start_comes_first_and_the_rest_is_if_agreed(outputs: dict[str, Any]) -> None:
    found = parts(render_handoff(outputs))
    assert list(found) == ["Part 1. Needed to start", "Part 2. Use if agreed with ClickHouse"]
    start, agreed = found.values()
    byoc = outputs["byoc"]
    # Table cells, so an account ID inside an ARN does not count.
    for value in (byoc["account_id"], byoc["region"], byoc["vpc_id"], *byoc["subnet_ids"],
                  *byoc["availability_zones"], byoc["role_arns"]["management"], byoc["egress"]):
        assert f"`{value}`" in start and f"`{value}`" not in agreed, value
    for value in (*byoc["kms_key_arns"].values(), byoc["buckets"]["backups"]["name"], byoc["role_arns"]["pods"],
                  *byoc["security_group_ids"].values(), byoc["log_group_names"]["query"], byoc["hosted_zone_id"]):
        assert f"`{value}`" in agreed and f"`{value}`" not in start, value


def test_the_management_role_is_pending_rather_than_a_crash_when_absent() -> None:
    outputs = load(DATA / "handoff_outputs.json")
    del outputs["byoc"]["role_arns"]["management"]
    start = parts(render_handoff(outputs))["Part 1. Needed to start"]
    assert "| Bootstrap role ARN (report it to ClickHouse) | *missing from the outputs* |" in start


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
    assert byoc["role_arns"]["management"] in sections["Bootstrap role"]
    assert byoc["role_arns"]["pods"] in sections["IAM roles"]
    assert byoc["egress"] in sections["Egress"]
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
    assert "management" in document.split(". Other values", 1)[1], "the rest of the list is still handed over"


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
    other = document.split("## 12. Other values", 1)[1]
    assert "| eks_cluster_name | `clickhouse-byoc` |" in other
    assert f"| role_arns.ebs_csi | `{role}` |" in other


def test_with_pod_identity_only_the_nlb_is_awaited() -> None:
    outputs = load(DATA / "handoff_outputs.json")
    del outputs["byoc"]["clickhouse_record_name"]
    pending = render_handoff(outputs)
    assert "| Pod role ARN (ClickHouse pods) | `arn:aws:iam::123456789012:role/clickhouse-aws-prod-clickhouse-pods` |" \
           in pending
    assert "| Pod access | `pod-identity` |" in pending
    assert "| ClickHouse record | *pending: created once ClickHouse shares the NLB DNS name (phase 3)* |" in pending
    assert "pulumi config set clickhouse-aws:byocNlbDnsName" in pending
    assert "byocOidcIssuerUrl" not in pending
    outputs["byoc"]["clickhouse_record_name"] = "clickhouse.clickhouse.internal.example"
    assert "customer side of BYOC is complete" in render_handoff(outputs)


def test_with_irsa_the_pod_role_is_pending_until_phase_3_then_listed() -> None:
    outputs = load(DATA / "handoff_outputs.json")
    outputs["byoc"]["pod_access"] = "irsa"
    del outputs["byoc"]["role_arns"]["pods"], outputs["byoc"]["clickhouse_record_name"]
    pending = render_handoff(outputs)
    assert "| Pod role ARN (ClickHouse pods) | *pending: created with pod-identity from the start; with irsa once " \
           "ClickHouse shares the EKS OIDC issuer URL" in pending
    assert "pulumi config set clickhouse-aws:byocOidcIssuerUrl" in pending
    outputs["byoc"]["role_arns"]["pods"] = "arn:aws:iam::123456789012:role/clickhouse-irsa"
    half = render_handoff(outputs)
    assert "| Pod role ARN (ClickHouse pods) | `arn:aws:iam::123456789012:role/clickhouse-irsa` |" in half
    assert "byocNlbDnsName" in half and "customer side of BYOC is complete" not in half
    outputs["byoc"]["clickhouse_record_name"] = "clickhouse.clickhouse.internal.example"
    done = render_handoff(outputs)
    assert "byocOidcIssuerUrl" not in done and "customer side of BYOC is complete" in done


@pytest.mark.parametrize("agreed", [True, False])
def test_the_eks_log_group_is_listed_only_for_an_agreed_cluster_and_its_absence_explained(agreed: bool) -> None:
    outputs = load(DATA / "handoff_outputs.json")
    if not agreed:
        del outputs["byoc"]["log_group_names"]["eks_cluster"]
    document = render_handoff(outputs)
    assert ("| EKS control plane | `/aws/eks/clickhouse-byoc/cluster` |" in document) is agreed
    assert ("cluster's name is not agreed with ClickHouse (byocEksClusterName)" in document) is not agreed
    # An absent group never holds up the customer side.
    assert "customer side of BYOC is complete" in document


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


@pytest.mark.parametrize(("egress", "statement"), [
    ("none", "none, acknowledged** (byocEgressNoneAcknowledged)"),
    ("nat", "Egress **nat**: the private subnets reach the internet through NAT gateways"),
    ("transit-gateway", "Egress **transit-gateway**: the private subnets' default route leads to the organisation's"),
])
def test_the_egress_mode_is_stated_with_what_tailscale_needs(egress: str, statement: str) -> None:
    outputs = load(DATA / "handoff_outputs.json")
    outputs["byoc"]["egress"] = egress
    start = parts(render_handoff(outputs))["Part 1. Needed to start"]
    assert f"| Egress (outbound internet for Tailscale) | `{egress}` |" in start
    assert statement in start
    assert "TCP 443, UDP 3478 (STUN) and UDP 41641 (WireGuard)" in start
    assert ("confirm that path with ClickHouse" in start) is (egress == "none")
