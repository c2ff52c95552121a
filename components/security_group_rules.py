"""Security groups and their rules, the way every component here writes them.

A group is made without inline rules, so it starts with no default allow-all egress; each permitted flow is then its
own described rule resource, which keeps every flow reviewable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

import pulumi
import pulumi_aws as aws

# A port, an inclusive (from, to) range, or None for all traffic.
Ports = Optional[int | tuple[int, int]]


@dataclass(frozen=True)
class Peer:
    """The other side of a rule; exactly one of the three targets is set."""

    label: str  # part of the rule's resource name, so it must stay stable
    security_group_id: Optional[pulumi.Input[str]] = None
    cidr_ipv4: Optional[pulumi.Input[str]] = None
    prefix_list_id: Optional[pulumi.Input[str]] = None


def security_group(
    resource_name: str, *, name: str, description: str, vpc_id: pulumi.Input[str], tags: Mapping[str, str],
    opts: pulumi.ResourceOptions,
) -> aws.ec2.SecurityGroup:
    """A group with no inline rules (hence no default egress), named alike in its name and its Name tag."""
    return aws.ec2.SecurityGroup(
        resource_name, name=name, description=description, vpc_id=vpc_id, tags={**tags, "Name": name}, opts=opts,
    )


def port_label(ports: Ports) -> str:
    if ports is None:
        return "all"
    low, high = ports if isinstance(ports, tuple) else (ports, ports)
    return str(low) if low == high else f"{low}-{high}"


def security_group_rule(
    resource_name: str,
    *,
    security_group_id: pulumi.Input[str],
    ingress: bool,
    peer: Peer,
    ports: Ports,
    description: str,
    tags: Mapping[str, str],
    opts: pulumi.ResourceOptions,
) -> pulumi.CustomResource:
    if ports is None:
        protocol, from_port, to_port = "-1", None, None
    else:
        protocol = "tcp"
        from_port, to_port = ports if isinstance(ports, tuple) else (ports, ports)
    resource = aws.vpc.SecurityGroupIngressRule if ingress else aws.vpc.SecurityGroupEgressRule
    return resource(
        resource_name,
        security_group_id=security_group_id,
        referenced_security_group_id=peer.security_group_id,
        cidr_ipv4=peer.cidr_ipv4,
        prefix_list_id=peer.prefix_list_id,
        ip_protocol=protocol,
        from_port=from_port,
        to_port=to_port,
        description=description,
        tags=dict(tags),
        opts=opts,
    )
