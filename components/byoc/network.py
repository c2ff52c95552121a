"""The BYOC side of the stack's one private network: what ClickHouse's EKS needs to run without any internet path.

The VPC and subnets are the PrivateNetwork's (created with the BYOC tags, or adopted and tagged here). This adds the
S3 gateway endpoint on the private route tables and an interface endpoint with private DNS per AWS service EKS nodes
call (ECR, EC2, EKS, STS, CloudWatch Logs, ELB by default), behind a security group admitting only 443 from the VPC.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import pulumi
import pulumi_aws as aws

from components.byoc.names import BYOC_SUBNET_TAGS, BYOC_TAGS
from components.security_group_rules import Peer, security_group, security_group_rule
from stack_config.byoc import ByocConfig
from stack_config.network import NetworkConfig

ENDPOINT_PORT = 443


@dataclass(frozen=True)
class ByocNetworkArgs:
    config: ByocConfig
    network: NetworkConfig
    region: str
    vpc_id: pulumi.Input[str]
    vpc_cidr: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]
    route_table_ids: pulumi.Input[Sequence[str]]
    name_prefix: str
    tags: Mapping[str, str]


class ByocNetwork(pulumi.ComponentResource):
    s3_gateway_endpoint_id: pulumi.Output[str]
    s3_prefix_list_id: pulumi.Output[str]
    interface_endpoint_ids: dict[str, pulumi.Output[str]]
    endpoint_security_group_id: pulumi.Output[str]
    route_table_ids: pulumi.Output[Sequence[str]]

    def __init__(self, name: str, args: ByocNetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("clickhouse-aws:byoc:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags, prefix = dict(args.tags), args.name_prefix
        if not args.network.creates_vpc:
            self._tag_adopted(name, args.network, child)

        # Always the stack's own region: endpoints reach only same-region services.
        def service(svc: str) -> str:
            return f"com.amazonaws.{args.region}.{svc}"

        # Default (full) endpoint policy on purpose: ECR keeps image layers in AWS-owned buckets and ClickHouse's
        # billing sidecar writes to a ClickHouse-owned bucket, both through this endpoint.
        s3 = aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=args.vpc_id,
            vpc_endpoint_type="Gateway",
            service_name=service("s3"),
            route_table_ids=args.route_table_ids,
            tags={**tags, **BYOC_TAGS, "Name": f"{prefix}-s3"},
            opts=child,
        )
        endpoint_sg = security_group(
            f"{name}-endpoints", name=f"{prefix}-byoc-endpoints",
            description="BYOC interface VPC endpoints: admit HTTPS from the VPC only",
            vpc_id=args.vpc_id, tags=tags, opts=child,
        )
        # No egress rule: endpoints only answer connections, and a group made without inline rules has no default egress.
        security_group_rule(
            f"{name}-endpoints-from-vpc-{ENDPOINT_PORT}", security_group_id=endpoint_sg.id, ingress=True,
            peer=Peer("vpc", cidr_ipv4=args.vpc_cidr), ports=ENDPOINT_PORT,
            description="HTTPS to AWS service endpoints from inside the VPC", tags=tags, opts=child,
        )
        self.interface_endpoint_ids = {
            svc: aws.ec2.VpcEndpoint(
                f"{name}-{svc.replace('.', '-')}",
                vpc_id=args.vpc_id,
                vpc_endpoint_type="Interface",
                service_name=service(svc),
                # Private DNS makes the service's public hostname resolve to the endpoint, so SDKs need no config.
                private_dns_enabled=True,
                subnet_ids=args.subnet_ids,
                security_group_ids=[endpoint_sg.id],
                tags={**tags, **BYOC_TAGS, "Name": f"{prefix}-{svc}"},
                opts=child,
            ).id
            for svc in args.config.interface_endpoints
        }
        self.s3_gateway_endpoint_id = s3.id
        self.s3_prefix_list_id = s3.prefix_list_id
        self.endpoint_security_group_id = endpoint_sg.id
        self.route_table_ids = pulumi.Output.from_input(args.route_table_ids)
        self.register_outputs({
            "s3_gateway_endpoint_id": self.s3_gateway_endpoint_id,
            "interface_endpoint_ids": self.interface_endpoint_ids,
            "endpoint_security_group_id": self.endpoint_security_group_id,
            "route_table_ids": self.route_table_ids,
        })

    @staticmethod
    def _tag_adopted(name: str, network: NetworkConfig, child: pulumi.ResourceOptions) -> None:
        """ClickHouse finds the VPC and subnets by tag; on an adopted VPC, add just those tags and leave the rest."""
        targets = [(network.existing_vpc_id, BYOC_TAGS)] + [(s, BYOC_SUBNET_TAGS) for s in network.existing_subnet_ids]
        for resource_id, resource_tags in targets:
            for key, value in resource_tags.items():
                aws.ec2.Tag(
                    f"{name}-{resource_id}-{key.replace('/', '-')}",
                    resource_id=resource_id,
                    key=key,
                    value=value,
                    opts=child,
                )
