"""BYOC security groups: each flow is one described rule with a named peer; nothing admits 0.0.0.0/0."""

from __future__ import annotations

from components.byoc.security_groups import CLIENT_PORTS, CLUSTER_PORTS
from tests.byoc_support import APP_SECURITY_GROUPS, CONTROL_PLANE_SG, S3_PREFIX_LIST, children, custom, phase3, run

GROUPS = "clickhouse-aws:byoc:SecurityGroups"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
APP_CIDRS = ["10.50.0.0/20", "10.50.16.0/20"]  # Pulumi.prod.yaml


def flows(result, group: str, type_: str) -> set[tuple]:
    """(protocol, from, to, peer) of every rule of ``group`` in one direction; peer is an SG name, CIDR or list."""
    ids = result.outputs["byoc"]["security_group_ids"]
    names = {sg_id: name for name, sg_id in ids.items()}
    names[result.outputs["client_security_group_id"]] = "client"
    names[CONTROL_PLANE_SG] = "control-plane"
    found = set()
    for rule in children(result, GROUPS, type_):
        if rule.inputs["securityGroupId"] != ids[group]:
            continue
        i = rule.inputs
        sg = i.get("referencedSecurityGroupId")
        peer = names.get(sg, sg) if sg else i.get("cidrIpv4") or i.get("prefixListId")
        found.add((i["ipProtocol"], i.get("fromPort"), i.get("toPort"), peer))
    return found


def tcp(ports, peer) -> set[tuple]:
    return {("tcp", p, p, peer) for p in ports}


def test_three_groups_without_inline_rules():
    groups = children(run(), GROUPS, "aws:ec2/securityGroup:SecurityGroup")
    assert sorted(g.inputs["name"] for g in groups) == [
        "clickhouse-aws-prod-byoc-nlb", "clickhouse-aws-prod-byoc-nodes", "clickhouse-aws-prod-byoc-pods"]
    for group in groups:
        assert "ingress" not in group.inputs and "egress" not in group.inputs
        assert group.inputs["vpcId"] == run().outputs["vpc_id"]


def test_every_rule_has_a_description_and_no_rule_is_open_to_the_world():
    for result in (run(), phase3()):
        rules = children(result, GROUPS, INGRESS) + children(result, GROUPS, EGRESS)
        assert rules
        for rule in rules:
            assert rule.inputs["description"].strip()
            assert "'" not in rule.inputs["description"]  # not in the character set AWS accepts
            assert rule.inputs.get("cidrIpv4") not in ("0.0.0.0/0",) and "cidrIpv6" not in rule.inputs
            peers = [k for k in ("referencedSecurityGroupId", "cidrIpv4", "prefixListId") if rule.inputs.get(k)]
            assert len(peers) == 1, rule.name


def test_nodes_admit_each_other_and_the_control_plane_only_once_it_is_known():
    before, after = run(), phase3()
    assert flows(before, "nodes", INGRESS) == {("-1", None, None, "nodes")}
    assert flows(after, "nodes", INGRESS) == {
        ("-1", None, None, "nodes"),
        ("tcp", 443, 443, "control-plane"),
        ("tcp", 1025, 65535, "control-plane"),
    }


def test_nodes_egress_is_self_endpoints_s3_and_pod_probes():
    assert flows(run(), "nodes", EGRESS) == {
        ("-1", None, None, "nodes"),
        ("tcp", 443, 443, "10.42.0.0/16"),
        ("tcp", 443, 443, S3_PREFIX_LIST),
        ("tcp", 8123, 8123, "pods"),
    }


def test_pods_admit_applications_nlb_themselves_and_probes():
    expected = tcp(CLIENT_PORTS, "client") | tcp(CLIENT_PORTS, "nlb") | tcp(CLUSTER_PORTS, "pods")
    expected |= {("tcp", 8123, 8123, "nodes")}
    assert flows(run(), "pods", INGRESS) == expected
    assert {9000, 8123, 9440, 8443} == set(CLIENT_PORTS) and {9009, 9181, 9234} == set(CLUSTER_PORTS)


def test_configured_application_groups_replace_the_privatelink_client_default():
    apps = APP_SECURITY_GROUPS
    ingress = flows(custom(), "pods", INGRESS)
    from_apps = {f for f in ingress if f[3] in apps}
    assert from_apps == tcp(CLIENT_PORTS, apps[0]) | tcp(CLIENT_PORTS, apps[1])
    assert not {f for f in ingress if f[3] == "client"}


def test_pods_egress_is_peers_endpoints_and_s3_only():
    assert flows(run(), "pods", EGRESS) == tcp(CLUSTER_PORTS, "pods") | {
        ("tcp", 443, 443, "10.42.0.0/16"), ("tcp", 443, 443, S3_PREFIX_LIST)}


def test_nlb_admits_application_subnets_and_sends_only_to_pods():
    assert flows(run(), "nlb", INGRESS) == tcp(CLIENT_PORTS, APP_CIDRS[0]) | tcp(CLIENT_PORTS, APP_CIDRS[1])
    assert flows(run(), "nlb", EGRESS) == tcp(CLIENT_PORTS, "pods")


def test_no_application_cidrs_means_the_nlb_admits_nothing():
    assert flows(custom(), "nlb", INGRESS) == set()
    assert flows(custom(), "nlb", EGRESS) == tcp(CLIENT_PORTS, "pods")


def test_rules_are_children_of_the_component():
    result = run()
    (component,) = result.of_type(GROUPS)
    rules = children(result, GROUPS, INGRESS) + children(result, GROUPS, EGRESS)
    assert all(r.parent == component.urn for r in rules)
    assert len({r.name for r in rules}) == len(rules)
