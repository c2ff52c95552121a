"""BYOC security groups: each flow is one described rule with a named peer; nothing admits 0.0.0.0/0."""

from __future__ import annotations

import json

import pytest

from components.byoc.security_groups import CLIENT_PORTS, CLUSTER_PORTS

GROUPS = "clickhouse-aws:byoc:SecurityGroups"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"


@pytest.fixture(scope="module")
def flows(children, lookups):
    """``flows(run, group, type_)``: (protocol, from, to, peer) of every rule of ``group`` in one direction; the peer
    is a group's name, a CIDR, "s3" for the S3 prefix list, or a security group ID the stack does not own."""

    def of(result, group: str, type_: str) -> set[tuple]:
        ids = result.outputs["byoc"]["security_group_ids"]
        names = {sg_id: name for name, sg_id in ids.items()}
        names[result.config.get("clickhouse-aws:byocControlPlaneSecurityGroupId")] = "control-plane"
        names[lookups.s3_prefix_list] = "s3"
        found = set()
        for rule in children(result, GROUPS, type_):
            i = rule.inputs
            if i["securityGroupId"] != ids[group]:
                continue
            peer = i.get("referencedSecurityGroupId") or i.get("prefixListId")
            found.add((i["ipProtocol"], i.get("fromPort"), i.get("toPort"), names.get(peer, peer) or i["cidrIpv4"]))
        return found

    return of


def tcp(ports, peer) -> set[tuple]:
    return {("tcp", p, p, peer) for p in ports}


def application_cidrs(result) -> list[str]:
    return json.loads(result.config["clickhouse-aws:byocApplicationCidrs"])


def test_three_groups_without_inline_rules(phase1, children):
    groups = children(phase1, GROUPS, "aws:ec2/securityGroup:SecurityGroup")
    assert sorted(g.inputs["name"] for g in groups) == [
        "clickhouse-aws-byoc-byoc-nlb", "clickhouse-aws-byoc-byoc-nodes", "clickhouse-aws-byoc-byoc-pods"]
    for group in groups:
        assert "ingress" not in group.inputs and "egress" not in group.inputs
        assert group.inputs["vpcId"] == phase1.outputs["vpc_id"]


@pytest.mark.parametrize("phase", ["phase1", "phase3"])
def test_every_rule_has_a_description_and_no_rule_is_open_to_the_world(request, children, phase):
    result = request.getfixturevalue(phase)
    rules = children(result, GROUPS, INGRESS) + children(result, GROUPS, EGRESS)
    assert rules
    for rule in rules:
        assert rule.inputs["description"].strip()
        assert "'" not in rule.inputs["description"]  # not in the character set AWS accepts
        assert rule.inputs.get("cidrIpv4") not in ("0.0.0.0/0",) and "cidrIpv6" not in rule.inputs
        peers = [k for k in ("referencedSecurityGroupId", "cidrIpv4", "prefixListId") if rule.inputs.get(k)]
        assert len(peers) == 1, rule.name


def test_nodes_admit_each_other_and_the_control_plane_only_once_it_is_known(phase1, phase3, flows):
    assert flows(phase1, "nodes", INGRESS) == {("-1", None, None, "nodes")}
    assert flows(phase3, "nodes", INGRESS) == {
        ("-1", None, None, "nodes"),
        ("tcp", 443, 443, "control-plane"),
        ("tcp", 1025, 65535, "control-plane"),
    }


def test_nodes_egress_is_self_endpoints_s3_and_pod_probes(phase1, flows):
    assert flows(phase1, "nodes", EGRESS) == {
        ("-1", None, None, "nodes"),
        ("tcp", 443, 443, "10.43.0.0/16"),
        ("tcp", 443, 443, "s3"),
        ("tcp", 8123, 8123, "pods"),
    }


def test_pods_admit_the_nlb_themselves_and_probes_and_no_application_group_by_default(phase1, flows):
    # A BYOC stack has no PrivateLink client group: applications come through the NLB unless groups are configured.
    expected = tcp(CLIENT_PORTS, "nlb") | tcp(CLUSTER_PORTS, "pods")
    expected |= {("tcp", 8123, 8123, "nodes")}
    assert flows(phase1, "pods", INGRESS) == expected
    assert {9000, 8123, 9440, 8443} == set(CLIENT_PORTS) and {9009, 9181, 9234} == set(CLUSTER_PORTS)


def test_configured_application_groups_reach_the_pods(custom, flows):
    apps = json.loads(custom.config["clickhouse-aws:byocApplicationSecurityGroupIds"])
    ingress = flows(custom, "pods", INGRESS)
    assert {f for f in ingress if f[3] in apps} == {flow for app in apps for flow in tcp(CLIENT_PORTS, app)}


def test_pods_egress_is_peers_endpoints_and_s3_only(phase1, flows):
    assert flows(phase1, "pods", EGRESS) == tcp(CLUSTER_PORTS, "pods") | {
        ("tcp", 443, 443, "10.43.0.0/16"), ("tcp", 443, 443, "s3")}


def test_nlb_admits_application_subnets_and_sends_only_to_pods(phase1, flows):
    cidrs = application_cidrs(phase1)
    assert cidrs
    assert flows(phase1, "nlb", INGRESS) == {flow for cidr in cidrs for flow in tcp(CLIENT_PORTS, cidr)}
    assert flows(phase1, "nlb", EGRESS) == tcp(CLIENT_PORTS, "pods")


def test_no_application_cidrs_means_the_nlb_admits_nothing(custom, flows):
    assert application_cidrs(custom) == []
    assert flows(custom, "nlb", INGRESS) == set()
    assert flows(custom, "nlb", EGRESS) == tcp(CLIENT_PORTS, "pods")


def test_rules_are_children_of_the_component_with_unique_names(phase1, children):
    (component,) = phase1.of_type(GROUPS)
    rules = children(phase1, GROUPS, INGRESS) + children(phase1, GROUPS, EGRESS)
    assert all(r.parent == component.urn for r in rules)
    assert len({r.name for r in rules}) == len(rules)


def test_every_byoc_group_carries_the_tag_clickhouses_permissions_are_scoped_by(phase1, children):
    groups = children(phase1, "clickhouse-aws:byoc:SecurityGroups", "aws:ec2/securityGroup:SecurityGroup")
    assert len(groups) == 3 and all(g.inputs["tags"]["clickhouse-byoc"] == "true" for g in groups)
