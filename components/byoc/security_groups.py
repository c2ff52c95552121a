"""Security groups ClickHouse's EKS uses in the customer VPC: worker nodes, ClickHouse pods and the internal NLB.

Every rule is its own resource with a description, names its peer (a security group, an application subnet, the VPC
CIDR or the S3 prefix list, never 0.0.0.0/0), and egress is limited to what each group needs: the VPC's interface
endpoints and S3 on 443, peers in the cluster, and for the NLB only the pods.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import pulumi

from components.byoc.names import BYOC_TAGS
from components.clickhouse_service import HTTPS_PORT, NATIVE_TLS_PORT
from components.security_group_rules import Peer, Ports, port_label, security_group, security_group_rule

HTTPS = 443
EPHEMERAL = (1025, 65535)
HTTP_PORT = 8123
NATIVE_PORT = 9000
# What a client speaks to ClickHouse: HTTP and native, each in plain and TLS form.
CLIENT_PORTS = {
    HTTP_PORT: "HTTP interface",
    NATIVE_PORT: "native protocol",
    HTTPS_PORT: "HTTPS interface",
    NATIVE_TLS_PORT: "native protocol over TLS",
}
# What ClickHouse replicas and Keeper speak among themselves: interserver replication, Keeper client, Keeper Raft.
CLUSTER_PORTS = {9009: "interserver replication", 9181: "Keeper client", 9234: "Keeper Raft"}


@dataclass(frozen=True)
class Rule:
    group: str  # "nodes", "pods" or "nlb"
    ingress: bool
    peer: Peer
    ports: Ports
    description: str


@dataclass(frozen=True)
class ByocSecurityGroupsArgs:
    vpc_id: pulumi.Input[str]
    vpc_cidr: pulumi.Input[str]
    s3_prefix_list_id: pulumi.Input[str]
    # Known only once ClickHouse has created EKS; until then the nodes admit only each other.
    control_plane_security_group_id: Optional[str]
    application_security_group_ids: Sequence[pulumi.Input[str]]
    application_cidrs: Sequence[str]
    name_prefix: str
    tags: Mapping[str, str]


GROUP_PURPOSES = {
    "nodes": "EKS worker nodes of ClickHouse BYOC",
    "pods": "ClickHouse server and Keeper pods",
    "nlb": "Internal NLB in front of ClickHouse",
}


def _rules(args: ByocSecurityGroupsArgs, ids: Mapping[str, pulumi.Output[str]]) -> list[Rule]:
    """The whole rule set, as data, so each rule is declared the same way."""
    group = {name: Peer(name, security_group_id=sg_id) for name, sg_id in ids.items()}
    self_ = {name: Peer("self", security_group_id=sg_id) for name, sg_id in ids.items()}
    vpc = Peer("vpc", cidr_ipv4=args.vpc_cidr)
    s3 = Peer("s3", prefix_list_id=args.s3_prefix_list_id)
    rules = [
        Rule("nodes", True, self_["nodes"], None, "All traffic between nodes (pod networking, CoreDNS)"),
        Rule("nodes", False, self_["nodes"], None, "All traffic between nodes (pod networking, CoreDNS)"),
        Rule("nodes", False, vpc, HTTPS, "AWS interface endpoints and the private EKS API in the VPC"),
        Rule("nodes", False, s3, HTTPS, "S3 and ECR image layers through the S3 gateway endpoint"),
        Rule("nodes", False, group["pods"], HTTP_PORT, "kubelet health probes to the ClickHouse pods"),
        Rule("pods", True, group["nodes"], HTTP_PORT, "kubelet health probes from the nodes"),
        Rule("pods", False, vpc, HTTPS, "STS for IRSA and CloudWatch Logs through the interface endpoints"),
        Rule("pods", False, s3, HTTPS, "Backups to S3 through the gateway endpoint"),
    ]
    if args.control_plane_security_group_id:
        control_plane = Peer("control-plane", security_group_id=args.control_plane_security_group_id)
        rules += [
            Rule("nodes", True, control_plane, HTTPS, "Webhooks and extension API servers from the EKS control plane"),
            Rule("nodes", True, control_plane, EPHEMERAL, "kubelet and pod ports from the EKS control plane"),
        ]
    for port, purpose in CLUSTER_PORTS.items():
        rules += [
            Rule("pods", True, self_["pods"], port, f"ClickHouse {purpose} between pods"),
            Rule("pods", False, self_["pods"], port, f"ClickHouse {purpose} between pods"),
        ]
    for port, purpose in CLIENT_PORTS.items():
        rules += [
            Rule("pods", True, group["nlb"], port, f"ClickHouse {purpose} from the internal NLB"),
            Rule("nlb", False, group["pods"], port, f"ClickHouse {purpose} to the ClickHouse pods"),
        ]
        rules += [Rule("pods", True, Peer(f"app{i}", security_group_id=sg), port,
                       f"ClickHouse {purpose} from application security group {i}")
                  for i, sg in enumerate(args.application_security_group_ids)]
        rules += [Rule("nlb", True, Peer(cidr.replace(".", "-").replace("/", "-"), cidr_ipv4=cidr), port,
                       f"ClickHouse {purpose} from application subnet {cidr}")
                  for cidr in args.application_cidrs]
    return rules


class ByocSecurityGroups(pulumi.ComponentResource):
    security_group_ids: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: ByocSecurityGroupsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("clickhouse-aws:byoc:SecurityGroups", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        # Created without inline rules, so no default allow-all egress: every permitted flow is a rule below.
        self.security_group_ids = {
            group: security_group(
                f"{name}-{group}", name=f"{args.name_prefix}-byoc-{group}", description=purpose,
                # ClickHouse's management permissions on security groups are scoped by this tag.
                vpc_id=args.vpc_id, tags={**tags, **BYOC_TAGS}, opts=child,
            ).id
            for group, purpose in GROUP_PURPOSES.items()
        }
        for rule in _rules(args, self.security_group_ids):
            self._declare(name, rule, tags, child)
        self.register_outputs({"security_group_ids": self.security_group_ids})

    def _declare(self, name: str, rule: Rule, tags: dict[str, str], child: pulumi.ResourceOptions) -> None:
        security_group_rule(
            f"{name}-{rule.group}-{'from' if rule.ingress else 'to'}-{rule.peer.label}-{port_label(rule.ports)}",
            security_group_id=self.security_group_ids[rule.group],
            ingress=rule.ingress,
            peer=rule.peer,
            ports=rule.ports,
            description=rule.description,
            tags=tags,
            opts=child,
        )
