"""BYOC DNS: a private zone for the internal domain on the VPC; clickhouse.<domain> only once the NLB exists."""

from __future__ import annotations

import logging

DNS = "clickhouse-aws:byoc:Dns"
RECORD = "aws:route53/record:Record"


def test_private_zone_for_the_domain_associated_with_the_stacks_vpc(phase1, children):
    (zone,) = children(phase1, DNS, "aws:route53/zone:Zone")
    assert zone.inputs["name"] == "data.byoc.internal"
    assert zone.inputs["vpcs"] == [{"vpcId": phase1.outputs["vpc_id"], "vpcRegion": "us-east-1"}]
    byoc = phase1.outputs["byoc"]
    assert byoc["domain"] == "data.byoc.internal"
    assert byoc["hosted_zone_id"] == zone.outputs["zoneId"]


def test_no_record_and_no_record_name_until_the_nlb_exists(fresh_byoc_run, children, caplog):
    caplog.set_level(logging.INFO)
    result = fresh_byoc_run()
    assert children(result, DNS, RECORD) == []
    assert "clickhouse_record_name" not in result.outputs["byoc"]
    assert any("clickhouse.data.byoc.internal" in m and "clickhouse-aws:byocNlbDnsName" in m for m in caplog.messages)


def test_record_is_an_alias_to_the_nlb_once_configured(phase3, children):
    (record,) = children(phase3, DNS, RECORD)
    assert record.inputs["name"] == "clickhouse.data.byoc.internal"
    assert record.inputs["type"] == "A"
    assert record.inputs["zoneId"] == phase3.outputs["byoc"]["hosted_zone_id"]
    assert record.inputs["aliases"] == [{
        "name": phase3.config["clickhouse-aws:byocNlbDnsName"],
        "zoneId": phase3.config["clickhouse-aws:byocNlbZoneId"],
        "evaluateTargetHealth": True,
    }]
    assert "records" not in record.inputs and "ttl" not in record.inputs
    assert phase3.outputs["byoc"]["clickhouse_record_name"] == "clickhouse.data.byoc.internal"


def test_the_nlb_zone_is_looked_up_when_not_given(custom, children, lookups):
    assert not custom.config.get("clickhouse-aws:byocNlbZoneId")
    (record,) = children(custom, DNS, RECORD)
    assert record.inputs["aliases"][0]["zoneId"] == lookups.nlb_zone_id


def test_domain_is_config_and_a_trailing_dot_is_accepted(custom, children):
    (zone,) = children(custom, DNS, "aws:route53/zone:Zone")
    assert zone.inputs["name"] == "ch.corp.example.com"
    assert custom.outputs["byoc"]["clickhouse_record_name"] == "clickhouse.ch.corp.example.com"
