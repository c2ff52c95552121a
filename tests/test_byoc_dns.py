"""BYOC DNS: a private zone for the internal domain on the VPC; clickhouse.<domain> only once the NLB exists."""

from __future__ import annotations

import logging

from scripts.offline.engine import run_program
from tests.byoc_support import LOOKED_UP_NLB_ZONE, NLB_DNS, NLB_ZONE, NS, ByocMocks, children, custom, phase3, run

DNS = "clickhouse-aws:byoc:Dns"
RECORD = "aws:route53/record:Record"


def zone(result):
    (found,) = children(result, DNS, "aws:route53/zone:Zone")
    return found


def test_private_zone_for_the_domain_associated_with_the_stacks_vpc():
    result = run()
    inputs = zone(result).inputs
    assert inputs["name"] == "data.prod.internal"
    assert inputs["vpcs"] == [{"vpcId": result.outputs["vpc_id"], "vpcRegion": "us-east-1"}]
    byoc = result.outputs["byoc"]
    assert byoc["domain"] == "data.prod.internal"
    assert byoc["hosted_zone_id"].startswith("Z")


def test_no_record_and_no_record_name_until_the_nlb_exists(caplog):
    caplog.set_level(logging.INFO)
    result = run_program("prod", mocks=ByocMocks())
    assert children(result, DNS, RECORD) == []
    assert "clickhouse_record_name" not in result.outputs["byoc"]
    assert any("clickhouse.data.prod.internal" in m and "clickhouse-aws:byocNlbDnsName" in m for m in caplog.messages)


def test_record_is_an_alias_to_the_nlb_once_configured():
    result = phase3()
    (record,) = children(result, DNS, RECORD)
    assert record.inputs["name"] == "clickhouse.data.prod.internal"
    assert record.inputs["type"] == "A"
    assert record.inputs["zoneId"] == result.outputs["byoc"]["hosted_zone_id"]
    assert record.inputs["aliases"] == [{"name": NLB_DNS, "zoneId": NLB_ZONE, "evaluateTargetHealth": True}]
    assert "records" not in record.inputs and "ttl" not in record.inputs
    assert result.outputs["byoc"]["clickhouse_record_name"] == "clickhouse.data.prod.internal"


def test_the_nlb_zone_is_looked_up_when_not_given():
    result = custom()
    assert not result.config.get(f"{NS}:byocNlbZoneId")
    (record,) = children(result, DNS, RECORD)
    assert record.inputs["aliases"][0]["zoneId"] == LOOKED_UP_NLB_ZONE


def test_domain_is_config_and_a_trailing_dot_is_accepted():
    result = custom()
    assert zone(result).inputs["name"] == "ch.corp.example.com"
    assert result.outputs["byoc"]["clickhouse_record_name"] == "clickhouse.ch.corp.example.com"
