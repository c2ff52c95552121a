"""Private DNS for ClickHouse BYOC: a Route53 private hosted zone for the internal domain, associated with the VPC.

``clickhouse.<domain>`` is created only once ClickHouse's internal NLB exists (byocNlbDnsName set), as an alias to it.
Until then the name does not resolve at all (NXDOMAIN) rather than to a placeholder: nothing can connect by mistake to
a stand-in, and the ``byoc`` output leaves clickhouse_record_name out, which is how the phase tooling knows the
record is still to come.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

import pulumi
import pulumi_aws as aws

from stack_config.byoc import ByocConfig


@dataclass(frozen=True)
class ByocDnsArgs:
    config: ByocConfig
    region: str
    vpc_id: pulumi.Input[str]
    tags: Mapping[str, str]


class ByocDns(pulumi.ComponentResource):
    hosted_zone_id: pulumi.Output[str]
    domain: str
    clickhouse_record_name: Optional[pulumi.Output[str]]

    def __init__(self, name: str, args: ByocDnsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("clickhouse-aws:byoc:Dns", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        cfg = args.config
        zone = aws.route53.Zone(
            f"{name}-zone",
            name=cfg.internal_domain,
            comment="ClickHouse BYOC internal domain, answered only inside the BYOC VPC",
            vpcs=[aws.route53.ZoneVpcArgs(vpc_id=args.vpc_id, vpc_region=args.region)],
            tags=dict(args.tags),
            opts=child,
        )
        self.clickhouse_record_name = None
        if cfg.nlb_dns_name:
            # Every NLB in a region shares one canonical hosted zone, so the DNS name is all ClickHouse must send.
            nlb_zone_id = cfg.nlb_zone_id or aws.lb.get_hosted_zone_id(load_balancer_type="network").id
            record = aws.route53.Record(
                f"{name}-clickhouse",
                zone_id=zone.zone_id,
                name=cfg.clickhouse_record_name,
                type="A",
                aliases=[aws.route53.RecordAliasArgs(
                    name=cfg.nlb_dns_name,
                    zone_id=nlb_zone_id,
                    evaluate_target_health=True,
                )],
                opts=child,
            )
            self.clickhouse_record_name = record.name
        else:
            pulumi.log.info(
                f"BYOC: no {cfg.clickhouse_record_name} record yet. Once ClickHouse has created the internal NLB, set "
                "clickhouse-aws:byocNlbDnsName to its DNS name and run up again.",
                resource=self,
            )
        self.hosted_zone_id = zone.zone_id
        self.domain = cfg.internal_domain
        self.register_outputs({"hosted_zone_id": self.hosted_zone_id, "clickhouse_record_name": self.clickhouse_record_name})
