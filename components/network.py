"""The private network the ClickHouse endpoint (and, with BYOC, ClickHouse's EKS) lives in.

Either creates a VPC with one private subnet and route table per availability zone, with every flow logged to a
KMS-encrypted log group; or adopts an existing VPC and subnets, whose routing and flow logs stay with their owner.
A created VPC's way out is the ``egress`` setting: none (no internet gateway, no NAT, no route out), nat (an internet
gateway used only by NAT gateways that sit alone in small egress subnets; the private route tables default-route to
them), or transit-gateway (the private route tables default-route to a transit gateway attached in the private
subnets, e.g. an organisation's inspected egress VPC). No subnet maps public IPs in any mode. ``find_network`` looks up what the
config names before any resource is declared, for stack_config to check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import pulumi
import pulumi_aws as aws

from components.account import AwsAccount, policy_document
from stack_config.network import FoundNetwork, FoundSubnet, FoundVpc, NetworkConfig, NetworkLayout


def find_network(cfg: NetworkConfig, *, with_route_tables: bool = False) -> FoundNetwork:
    """What AWS reports about the network ``cfg`` names: the region's zones for a VPC to create, or the adopted VPC
    and subnets (and, ``with_route_tables``, the subnets' route tables). Only looks; stack_config checks."""
    if cfg.creates_vpc:
        zones = aws.get_availability_zones(
            state="available",
            filters=[aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])],
        )
        return FoundNetwork(zones=tuple(zones.names), zone_ids=tuple(zones.zone_ids))
    vpc = aws.ec2.get_vpc(id=cfg.existing_vpc_id)
    subnets = [aws.ec2.get_subnet(id=subnet_id) for subnet_id in cfg.existing_subnet_ids]
    return FoundNetwork(
        vpc=FoundVpc(vpc.id, vpc.cidr_block, bool(vpc.enable_dns_support), bool(vpc.enable_dns_hostnames)),
        subnets=tuple(FoundSubnet(s.id, s.vpc_id, s.availability_zone, s.cidr_block, bool(s.map_public_ip_on_launch))
                      for s in subnets),
        route_table_ids=_route_tables(cfg.existing_vpc_id, cfg.existing_subnet_ids) if with_route_tables else (),
    )


def _route_tables(vpc_id: str, subnet_ids: Sequence[str]) -> tuple[str, ...]:
    """Each subnet's route table: its explicit association, else the VPC's main table (which such subnets use)."""
    found: set[str] = set()
    for subnet_id in subnet_ids:
        found.update(_route_table_ids(vpc_id, "association.subnet-id", subnet_id)
                     or _route_table_ids(vpc_id, "association.main", "true"))
    return tuple(sorted(found))


def _route_table_ids(vpc_id: str, filter_name: str, value: str) -> list[str]:
    filters = [aws.ec2.GetRouteTablesFilterArgs(name=filter_name, values=[value])]
    return aws.ec2.get_route_tables(vpc_id=vpc_id, filters=filters).ids or []


@dataclass(frozen=True)
class PrivateNetworkArgs:
    config: NetworkConfig
    layout: NetworkLayout
    name_prefix: str
    account: AwsAccount
    logs_kms_key_arn: pulumi.Input[str]
    tags: Mapping[str, str]
    # Extra tags callers need on the VPC / subnets (BYOC discovers its subnets by tag).
    vpc_tags: Mapping[str, str] = field(default_factory=dict)
    subnet_tags: Mapping[str, str] = field(default_factory=dict)


class PrivateNetwork(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    vpc_cidr: pulumi.Output[str]
    subnet_ids: pulumi.Output[Sequence[str]]
    route_table_ids: pulumi.Output[Sequence[str]]
    availability_zones: pulumi.Output[Sequence[str]]
    # The NAT gateways the stack created (egress nat) by zone, for the egress alarms; empty otherwise.
    nat_gateway_ids: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: PrivateNetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("clickhouse-aws:index:PrivateNetwork", name, None, opts)
        self.nat_gateway_ids = {}
        self.availability_zones = pulumi.Output.from_input(list(args.layout.zones))
        if args.config.creates_vpc:
            self._create(name, args)
        else:
            self.vpc_id = pulumi.Output.from_input(args.config.existing_vpc_id)
            self.vpc_cidr = pulumi.Output.from_input(args.layout.existing_vpc_cidr)
            self.subnet_ids = pulumi.Output.from_input(list(args.config.existing_subnet_ids))
            self.route_table_ids = pulumi.Output.from_input([])
        self.register_outputs({
            "vpc_id": self.vpc_id,
            "vpc_cidr": self.vpc_cidr,
            "subnet_ids": self.subnet_ids,
            "route_table_ids": self.route_table_ids,
            "availability_zones": self.availability_zones,
        })

    def _create(self, name: str, args: PrivateNetworkArgs) -> None:
        cfg, prefix = args.config, args.name_prefix
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)

        vpc = aws.ec2.Vpc(
            name,
            cidr_block=cfg.vpc_cidr,
            enable_dns_support=True,
            # Both DNS settings are required for the Route53 private zone that resolves the ClickHouse hostname.
            enable_dns_hostnames=True,
            tags={**tags, **args.vpc_tags, "Name": prefix},
            opts=child,
        )
        subnet_ids, route_table_ids, tables = [], [], {}
        for zone, cidr in zip(args.layout.zones, cfg.subnet_cidrs(), strict=True):
            subnet = aws.ec2.Subnet(
                f"{name}-private-{zone}",
                vpc_id=vpc.id,
                cidr_block=cidr,
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={**tags, **args.subnet_tags, "Name": f"{prefix}-private-{zone}", "tier": "private"},
                opts=child,
            )
            # One route table per zone, holding only the VPC-local route; gateway endpoints (S3) attach here.
            table = aws.ec2.RouteTable(
                f"{name}-private-{zone}",
                vpc_id=vpc.id,
                tags={**tags, "Name": f"{prefix}-private-{zone}"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(f"{name}-private-{zone}", subnet_id=subnet.id, route_table_id=table.id, opts=child)
            subnet_ids.append(subnet.id)
            route_table_ids.append(table.id)
            tables[zone] = table

        if cfg.egress == "nat":
            self.nat_gateway_ids = self._nat_egress(name, args, vpc, tables, child)
        elif cfg.egress == "transit-gateway":
            self._transit_gateway_egress(name, args, vpc, subnet_ids, tables, child)
        self._flow_logs(name, args, vpc, child)
        self.vpc_id = vpc.id
        self.vpc_cidr = vpc.cidr_block
        self.subnet_ids = pulumi.Output.all(*subnet_ids)
        self.route_table_ids = pulumi.Output.all(*route_table_ids)

    @staticmethod
    def _nat_egress(name: str, args: PrivateNetworkArgs, vpc: aws.ec2.Vpc, tables: Mapping[str, aws.ec2.RouteTable],
                    child: pulumi.ResourceOptions) -> dict[str, pulumi.Output[str]]:
        """An internet gateway reachable only from egress subnets holding nothing but NAT gateways, so the private
        subnets get out through NAT and nothing can be reached from the internet."""
        cfg, prefix, tags = args.config, args.name_prefix, dict(args.tags)
        gateway = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags={**tags, "Name": prefix}, opts=child)
        egress_table = aws.ec2.RouteTable(f"{name}-egress", vpc_id=vpc.id, tags={**tags, "Name": f"{prefix}-egress"},
                                          opts=child)
        aws.ec2.Route(f"{name}-egress-default", route_table_id=egress_table.id, destination_cidr_block="0.0.0.0/0",
                      gateway_id=gateway.id, opts=child)
        zones = list(args.layout.zones)
        nats = []
        for zone, cidr in zip(zones, cfg.egress_subnet_cidrs()):
            # Not tagged for BYOC or load balancers: nothing but the NAT gateway may be placed here.
            subnet = aws.ec2.Subnet(
                f"{name}-egress-{zone}", vpc_id=vpc.id, cidr_block=cidr, availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={**tags, "Name": f"{prefix}-egress-{zone}", "tier": "egress"}, opts=child,
            )
            aws.ec2.RouteTableAssociation(f"{name}-egress-{zone}", subnet_id=subnet.id, route_table_id=egress_table.id,
                                          opts=child)
            address = aws.ec2.Eip(f"{name}-nat-{zone}", domain="vpc", tags={**tags, "Name": f"{prefix}-nat-{zone}"},
                                  opts=child)
            nats.append(aws.ec2.NatGateway(
                # A VPC Elastic IP's ID is its allocation ID.
                f"{name}-nat-{zone}", connectivity_type="public", allocation_id=address.id,
                subnet_id=subnet.id, tags={**tags, "Name": f"{prefix}-nat-{zone}"},
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[gateway])),
            ))
        # Each zone leaves through its own NAT gateway (or the VPC's one), so a zone failure stays in its zone.
        for index, zone in enumerate(zones):
            aws.ec2.Route(f"{name}-private-{zone}-default", route_table_id=tables[zone].id,
                          destination_cidr_block="0.0.0.0/0", nat_gateway_id=nats[min(index, len(nats) - 1)].id,
                          opts=child)
        return {zone: nat.id for zone, nat in zip(zones, nats)}

    @staticmethod
    def _transit_gateway_egress(name: str, args: PrivateNetworkArgs, vpc: aws.ec2.Vpc, subnet_ids: Sequence,
                                tables: Mapping[str, aws.ec2.RouteTable], child: pulumi.ResourceOptions) -> None:
        """The private subnets default-route to a transit gateway someone else runs (its attachment in them)."""
        cfg, tags = args.config, dict(args.tags)
        attachment = aws.ec2transitgateway.VpcAttachment(
            f"{name}-tgw", transit_gateway_id=cfg.transit_gateway_id, vpc_id=vpc.id, subnet_ids=subnet_ids,
            dns_support="enable", tags={**tags, "Name": args.name_prefix}, opts=child,
        )
        for zone, table in tables.items():
            aws.ec2.Route(f"{name}-private-{zone}-default", route_table_id=table.id, destination_cidr_block="0.0.0.0/0",
                          transit_gateway_id=cfg.transit_gateway_id,
                          opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[attachment])))

    def _flow_logs(self, name: str, args: PrivateNetworkArgs, vpc: aws.ec2.Vpc, child: pulumi.ResourceOptions) -> None:
        account, tags = args.account, dict(args.tags)
        group_name = f"/aws/vpc/flow-logs/{args.name_prefix}"
        # The role policy names the group by its deterministic ARN, so the document is known at preview.
        group_arn = account.arn("logs", f"log-group:{group_name}")
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            name=group_name,
            retention_in_days=args.config.flow_log_retention_days,
            kms_key_id=args.logs_kms_key_arn,
            tags=tags,
            opts=child,
        )
        # AWS's confused-deputy guidance for flow logs: only this account's flow logs (any of them: the flow log's own ID
        # is known only after it exists, and it needs this role first) may assume the role.
        role = aws.iam.Role(
            f"{name}-flow-logs",
            description="Lets VPC Flow Logs write to this stack's flow log group",
            assume_role_policy=policy_document({
                "Effect": "Allow",
                "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account.account_id},
                    "ArnLike": {"aws:SourceArn": account.arn("ec2", "vpc-flow-log/*")},
                },
            }),
            tags=tags,
            opts=child,
        )
        # The permissions AWS documents for publishing flow logs to CloudWatch Logs, on this stack's group only: the
        # group exists before the flow log, so the role never needs another.
        aws.iam.RolePolicy(
            f"{name}-flow-logs",
            role=role.id,
            policy=policy_document({
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
                           "logs:DescribeLogGroups", "logs:DescribeLogStreams"],
                "Resource": [group_arn, f"{group_arn}:*"],
            }),
            opts=child,
        )
        aws.ec2.FlowLog(
            f"{name}-flow-logs",
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags=tags,
            opts=child,
        )
