"""The apply order for a new environment and where a stack stands in it (``scripts.stack.phases``)."""

from __future__ import annotations

from typing import Any

import pytest

from scripts.stack.phases import NLB_DNS, OIDC_ISSUER, POD_ACCESS, State, describe, detect_phase


BYOC_ON = {"clickhouse-aws:byocEnabled": "true"}
IRSA_ON = {**BYOC_ON, POD_ACCESS: "irsa"}
FACTS = {OIDC_ISSUER: "https://oidc.eks.us-east-1.amazonaws.com/id/ABC", NLB_DNS: "internal-ch.elb.amazonaws.com"}
BYOC_NO_IRSA = {"role_arns": {"management": "arn:m"}, "clickhouse_record_name": "clickhouse.internal.example"}
BYOC_NO_RECORD = {"role_arns": {"management": "arn:m", "pods": "arn:p"}}
BYOC_DONE = {"role_arns": {"management": "arn:m", "pods": "arn:i"}, "clickhouse_record_name": "clickhouse.x"}


@pytest.mark.parametrize(("config", "outputs", "state"), [
    ({}, {}, State.NEEDS_UP),
    ({"clickhouse-aws:byocEnabled": "false"}, {"vpc_id": "vpc-1"}, State.COMPLETE),
    (BYOC_ON, {"vpc_id": "vpc-1"}, State.NEEDS_UP),  # BYOC switched on since the last up
    # Pod Identity (the default): only the NLB is awaited.
    (BYOC_ON, {"byoc": BYOC_NO_RECORD}, State.WAITING_FOR_CLICKHOUSE),
    ({**BYOC_ON, NLB_DNS: FACTS[NLB_DNS]}, {"byoc": BYOC_NO_RECORD}, State.NEEDS_SECOND_UP),
    ({**BYOC_ON, NLB_DNS: FACTS[NLB_DNS]}, {"byoc": BYOC_DONE}, State.COMPLETE),
    # IRSA: the OIDC issuer too.
    (IRSA_ON, {"byoc": BYOC_NO_IRSA}, State.WAITING_FOR_CLICKHOUSE),
    ({**IRSA_ON, OIDC_ISSUER: FACTS[OIDC_ISSUER]}, {"byoc": BYOC_NO_IRSA}, State.WAITING_FOR_CLICKHOUSE),
    ({**IRSA_ON, NLB_DNS: FACTS[NLB_DNS]}, {"byoc": BYOC_NO_IRSA}, State.WAITING_FOR_CLICKHOUSE),
    ({**IRSA_ON, **FACTS}, {"byoc": BYOC_NO_IRSA}, State.NEEDS_SECOND_UP),
    ({**IRSA_ON, **FACTS}, {"byoc": "[secret]"}, State.NEEDS_SECOND_UP),
    ({**IRSA_ON, **FACTS}, {"byoc": BYOC_DONE}, State.COMPLETE),
])
def test_detect_phase(config: dict[str, str], outputs: dict[str, Any], state: State) -> None:
    assert detect_phase("prod", config, outputs, protected=True).state is state


@pytest.mark.parametrize("config", [BYOC_ON, {**IRSA_ON, OIDC_ISSUER: FACTS[OIDC_ISSUER]}], ids=["pod-identity", "irsa"])
def test_waiting_for_clickhouse_asks_only_for_the_missing_fact(config: dict[str, str]) -> None:
    status = detect_phase("prod", config, {"byoc": BYOC_NO_IRSA}, protected=True)
    assert f"pulumi config set {NLB_DNS} <nlb-dns-name> --stack prod" in status.next_step
    assert OIDC_ISSUER not in status.next_step
    assert "python -m scripts.stack bootstrap --stack prod --yes" in status.next_step


@pytest.mark.parametrize(("protected", "command"), [
    (True, "python -m scripts.stack bootstrap --stack byoc --yes`"),
    (False, "python -m scripts.stack bootstrap --stack byoc`"),
])
def test_the_next_command_asks_for_yes_exactly_when_the_stack_is_protected(protected: bool, command: str) -> None:
    assert command in detect_phase("byoc", BYOC_ON, {}, protected=protected).next_step


def test_describe_lists_three_phases_in_order_with_non_byoc_ones_not_applicable() -> None:
    text = describe(detect_phase("dev", {}, {}, protected=False))
    lines = text.splitlines()
    assert lines[0] == "Apply order for stack 'dev':"
    assert lines[1].startswith("  [next] 1. ClickHouse service and base AWS infrastructure")
    assert lines[2].startswith("  [n/a] 2. BYOC handoff document")
    assert lines[3].startswith("  [n/a] 3. After ClickHouse creates EKS and the NLB")
    assert lines[4] == "Next: Run phase 1: `python -m scripts.stack bootstrap --stack dev`."
