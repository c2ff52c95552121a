"""The private path from a VPC to the ClickHouse service: interface endpoint, attachment, DNS and security groups.

Applications attach the client security group; the endpoint's group admits only that group, on the ports ClickHouse's
PrivateLink guide lists (HTTPS 443 and 8443, native TLS 9440, and MySQL 3306 when the service's MySQL interface is on). The endpoint's own private DNS is off because ClickHouse's hostname lives in its
own domain: a private zone named exactly that hostname (nothing broader) answers it inside the VPC. The endpoint goes
only in the subnets whose zone ClickHouse's endpoint service supports (AWS refuses the others), looked up once the
service's name is known.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import pulumi
import pulumi_aws as aws
import pulumiverse_clickhouse as clickhouse

from components.clickhouse_service import HTTPS_PORT, HTTPS_STANDARD_PORT, MYSQL_PORT, NATIVE_TLS_PORT
from components.security_group_rules import Peer, security_group, security_group_rule

CLIENT_PORTS = {
    HTTPS_PORT: "HTTPS interface",
    NATIVE_TLS_PORT: "native protocol over TLS",
    HTTPS_STANDARD_PORT: "HTTPS interface on the standard port",
}
MYSQL_CLIENT_PORTS = {MYSQL_PORT: "MySQL interface"}


@dataclass(frozen=True)
class PrivateLinkArgs:
    name_prefix: str
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]
    service_id: pulumi.Input[str]
    endpoint_service_name: pulumi.Input[str]
    private_dns_hostname: pulumi.Input[str]
    tags: Mapping[str, str]
    # The zone of each of subnet_ids, in the same order.
    subnet_zones: Sequence[str] = ()
    # The service's MySQL interface is on: clients may use 3306 too.
    mysql_interface: bool = False


class EndpointZoneError(pulumi.RunError):
    """None of the subnets is in a zone the endpoint service supports."""


def supported_subnets(subnet_ids: Sequence[str], subnet_zones: Sequence[str], service_zones: Sequence[str]) -> list[str]:
    """The subnets in zones the endpoint service supports, in order; an error saying what to change if there are none."""
    chosen = [subnet for subnet, zone in zip(subnet_ids, subnet_zones, strict=True) if zone in service_zones]
    placed = ", ".join(f"{subnet} in {zone}" for subnet, zone in zip(subnet_ids, subnet_zones))
    if not chosen:
        raise EndpointZoneError(
            f"ClickHouse's endpoint service supports only {', '.join(sorted(service_zones)) or 'no zone'} here, and none "
            f"of the endpoint's subnets ({placed}) is in one of them: set clickhouse-aws:availabilityZoneIds to zone IDs "
            "the service supports (a created VPC), or give subnetIds in those zones (an adopted VPC)")
    if len(chosen) < len(subnet_ids):
        pulumi.log.warn(f"ClickHouse's endpoint service supports only {', '.join(sorted(service_zones))}: the "
                        f"endpoint uses {', '.join(chosen)} of {placed}")
    return chosen


class PrivateLink(pulumi.ComponentResource):
    client_security_group_id: pulumi.Output[str]
    endpoint_security_group_id: pulumi.Output[str]
    vpc_endpoint_id: pulumi.Output[str]
    private_dns_zone_id: pulumi.Output[str]

    def __init__(self, name: str, args: PrivateLinkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("clickhouse-aws:index:PrivateLink", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)

        client_sg = security_group(
            f"{name}-client", name=f"{args.name_prefix}-clickhouse-client",
            description="Attach to workloads that may reach ClickHouse over PrivateLink",
            vpc_id=args.vpc_id, tags=tags, opts=child,
        )
        # No inline rules and no egress rule: a security group made this way has no default allow-all egress,
        # and responses to admitted connections need none.
        endpoint_sg = security_group(
            f"{name}-endpoint", name=f"{args.name_prefix}-clickhouse-endpoint",
            description="ClickHouse PrivateLink endpoint: admits only the client security group",
            vpc_id=args.vpc_id, tags=tags, opts=child,
        )
        ports = {**CLIENT_PORTS, **(MYSQL_CLIENT_PORTS if args.mysql_interface else {})}
        for port, purpose in ports.items():
            security_group_rule(
                f"{name}-endpoint-from-client-{port}", security_group_id=endpoint_sg.id, ingress=True,
                peer=Peer("client", security_group_id=client_sg.id), ports=port,
                description=f"ClickHouse {purpose} from the client security group", tags=tags, opts=child,
            )
            # Clients commonly restrict egress; this lets them reach the endpoint without opening anything else.
            security_group_rule(
                f"{name}-client-to-endpoint-{port}", security_group_id=client_sg.id, ingress=False,
                peer=Peer("endpoint", security_group_id=endpoint_sg.id), ports=port,
                description=f"ClickHouse {purpose} to the PrivateLink endpoint", tags=tags, opts=child,
            )

        service_zones = aws.ec2.get_vpc_endpoint_service_output(
            service_name=args.endpoint_service_name, opts=pulumi.InvokeOutputOptions(parent=self),
        ).availability_zones
        endpoint_subnets = pulumi.Output.all(args.subnet_ids, service_zones).apply(
            lambda found: supported_subnets(found[0], args.subnet_zones, found[1]))
        endpoint = aws.ec2.VpcEndpoint(
            f"{name}-endpoint",
            vpc_id=args.vpc_id,
            vpc_endpoint_type="Interface",
            # Always ClickHouse's endpoint service in the stack's own region; no service_region, so never cross-region.
            service_name=args.endpoint_service_name,
            private_dns_enabled=False,
            subnet_ids=endpoint_subnets,
            security_group_ids=[endpoint_sg.id],
            tags={**tags, "Name": f"{args.name_prefix}-clickhouse"},
            opts=child,
        )
        # Exactly one attachment per service: the provider cannot merge several.
        clickhouse.serviceprivateendpoints.Attachment(
            f"{name}-attachment",
            service_id=args.service_id,
            private_endpoint_ids=[endpoint.id],
            opts=child,
        )

        zone = aws.route53.Zone(
            f"{name}-zone",
            name=args.private_dns_hostname,
            comment="Resolves the ClickHouse service's private hostname to its PrivateLink endpoint",
            vpcs=[aws.route53.ZoneVpcArgs(vpc_id=args.vpc_id)],
            tags=tags,
            opts=child,
        )
        first_entry = endpoint.dns_entries[0]
        aws.route53.Record(
            f"{name}-apex",
            zone_id=zone.zone_id,
            name=args.private_dns_hostname,
            type="A",
            aliases=[aws.route53.RecordAliasArgs(
                name=first_entry.dns_name,
                zone_id=first_entry.hosted_zone_id,
                evaluate_target_health=False,
            )],
            opts=child,
        )

        self.client_security_group_id = client_sg.id
        self.endpoint_security_group_id = endpoint_sg.id
        self.vpc_endpoint_id = endpoint.id
        self.private_dns_zone_id = zone.zone_id
        self.register_outputs({
            "client_security_group_id": self.client_security_group_id,
            "endpoint_security_group_id": self.endpoint_security_group_id,
            "vpc_endpoint_id": self.vpc_endpoint_id,
            "private_dns_zone_id": self.private_dns_zone_id,
        })
