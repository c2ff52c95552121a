"""DNS check: each resolved address must be private, inside the VPC and one of the expected interfaces' addresses;
the expectations come from the live account (moto here)."""

from __future__ import annotations

import ipaddress

import pytest

from scripts.verify.aws import Interfaces, VerifyAws
from scripts.verify.dns import Expectation, check_dns, endpoint_expectation, is_private, nlb_expectation
from scripts.verify.report import Status
from tests.scripts.verify.support import REGION, SERVICE_HOST, LoopbackNetwork

ip = ipaddress.ip_address
VPC = "vpc-0d7117d9ea3957c54"
ENDPOINT = Interfaces("VPC endpoint vpce-0f6b338679639818b", VPC, frozenset({ip("10.41.3.7"), ip("10.41.20.9")}))
EXPECTED = Expectation(VPC, (ipaddress.ip_network("10.41.0.0/16"),), ENDPOINT)


def resolve_to(*addresses: str) -> LoopbackNetwork:
    return LoopbackNetwork(answers={SERVICE_HOST: tuple(ip(a) for a in addresses)})


def dns(network: LoopbackNetwork, expectation: Expectation = EXPECTED):
    return check_dns("dns", "title", SERVICE_HOST, expectation, network, timeout=1)


def test_the_endpoints_private_addresses_pass_and_are_handed_on():
    outcome = dns(resolve_to("10.41.3.7", "10.41.20.9"))
    assert outcome.result.status is Status.PASS
    assert outcome.verified == (ip("10.41.3.7"), ip("10.41.20.9"))
    assert outcome.result.message == (f"{SERVICE_HOST} resolves to 10.41.3.7, 10.41.20.9: private addresses of the "
                                      f"VPC endpoint vpce-0f6b338679639818b in {VPC}.")


@pytest.mark.parametrize("address, reasons", [
    ("3.5.140.2", "not a private address; outside vpc-0d7117d9ea3957c54 (10.41.0.0/16); not an address of the VPC "
                  "endpoint vpce-0f6b338679639818b"),
    ("192.168.4.4", "outside vpc-0d7117d9ea3957c54 (10.41.0.0/16); not an address of the VPC endpoint "
                    "vpce-0f6b338679639818b"),
    ("10.41.9.9", "not an address of the VPC endpoint vpce-0f6b338679639818b"),
    ("127.0.0.1", "not a private address; outside"),
    ("2600:1f18::1", "not a private address; outside"),
])
def test_each_wrong_address_fails_with_its_reasons_and_is_not_contacted(address, reasons):
    outcome = dns(resolve_to("10.41.3.7", address))
    sorted_addresses = [str(a) for a in outcome.verified + (ip(address),)]
    assert outcome.result.status is Status.FAIL
    assert outcome.result.message == (f"{SERVICE_HOST} resolves to {', '.join(sorted_addresses)}: {address} is not "
                                      f"the VPC endpoint vpce-0f6b338679639818b's private address in {VPC}.")
    assert f"{address}: {reasons}" in "\n".join(outcome.result.details)
    assert outcome.verified == (ip("10.41.3.7"),)


def test_a_name_that_does_not_resolve_fails_with_where_to_run():
    outcome = dns(LoopbackNetwork())
    assert outcome.result.status is Status.FAIL and outcome.verified == ()
    assert "does not resolve from this host: no such name (NXDOMAIN). Run the check inside the VPC" in \
        outcome.result.message


def test_when_the_account_lacks_the_vpc_or_endpoint_nothing_is_verified():
    outcome = dns(resolve_to("10.41.3.7"), Expectation(VPC, problem="VPC vpc-0d7117d9ea3957c54 does not exist"))
    assert outcome.result.status is Status.FAIL and outcome.verified == ()
    assert outcome.result.message == f"{SERVICE_HOST} resolves to 10.41.3.7, but VPC {VPC} does not exist."


def test_private_means_rfc1918_rfc6598_and_ula_only():
    assert all(is_private(ip(a)) for a in ("10.0.0.1", "172.31.255.1", "192.168.0.1", "100.64.0.1", "fd00::1"))
    assert not any(is_private(ip(a)) for a in ("172.32.0.1", "8.8.8.8", "127.0.0.1", "169.254.169.254",
                                                "2600:1f18::1", "::1"))


# --- expectations from the account ----------------------------------------------------------------------------


def test_the_endpoint_expectation_reads_every_vpc_cidr_and_interface(stack):
    aws = VerifyAws(stack.session, REGION)
    expectation = endpoint_expectation(aws, stack.vpc_id, stack.outputs["vpc_endpoint_id"])
    assert expectation.problem is None
    assert expectation.interfaces.addresses == frozenset(stack.endpoint_addresses)
    assert ipaddress.ip_network("10.41.0.0/16") in expectation.networks
    assert all(any(a in net for net in expectation.networks) for a in stack.endpoint_addresses)


def test_a_missing_vpc_or_endpoint_is_a_problem_not_an_error(stack):
    aws = VerifyAws(stack.session, REGION)
    assert endpoint_expectation(aws, "vpc-0123456789abcdef0", stack.outputs["vpc_endpoint_id"]).problem == \
        f"VPC vpc-0123456789abcdef0 does not exist in {REGION} (or this account)"
    assert endpoint_expectation(aws, stack.vpc_id, "vpce-0123456789abcdef0").problem == \
        f"VPC endpoint vpce-0123456789abcdef0 does not exist in {REGION}"


def test_an_endpoint_in_another_vpc_is_a_problem(stack):
    ec2 = stack.client("ec2")
    other = ec2.create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
    aws = VerifyAws(stack.session, REGION)
    assert endpoint_expectation(aws, other, stack.outputs["vpc_endpoint_id"]).problem == \
        f"VPC endpoint {stack.outputs['vpc_endpoint_id']} is in {stack.vpc_id}, not in the stack's VPC {other}"


def test_the_nlb_expectation_takes_only_internal_network_load_balancers(stack):
    public = stack.add_nlb("clickhouse-public", "internet-facing", ["10.41.0.80"])
    internal = stack.add_nlb("clickhouse-private", "internal", ["10.41.0.50", "10.41.16.50"])
    expectation = nlb_expectation(VerifyAws(stack.session, REGION), stack.vpc_id)
    assert expectation.problem is None
    assert expectation.interfaces.owner == "internal NLB clickhouse-private"
    assert expectation.interfaces.addresses == frozenset(internal)
    assert not expectation.interfaces.addresses & frozenset(public)


def test_no_internal_nlb_is_a_problem(stack):
    stack.add_nlb("clickhouse-public", "internet-facing", ["10.41.0.80"])
    assert nlb_expectation(VerifyAws(stack.session, REGION), stack.vpc_id).problem == (
        f"no internal network load balancer exists in {stack.vpc_id} (has ClickHouse enabled the private load "
        "balancer?)")
