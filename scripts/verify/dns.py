"""DNS check: a name resolves only to private addresses inside the VPC that belong to what it must point at.

For the service's hostname that is the PrivateLink endpoint's network interfaces; for the BYOC record
(``clickhouse.<domain>``) the internal NLB's. Every resolved address must pass three tests, each with its own message:
private (RFC 1918, RFC 6598 shared space, which AWS allows for VPCs, or IPv6 ULA), inside one of the VPC's associated
CIDRs, and one of the expected interfaces' addresses. Only addresses that pass all three are handed to the checks
that connect, so the password never travels to an address this check did not vouch for.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from scripts.verify.aws import Interfaces, IPNetwork, VerifyAws
from scripts.verify.network import IPAddress, Network, ResolutionError
from scripts.verify.report import CheckResult, failed, passed

PRIVATE_NETWORKS = tuple(ipaddress.ip_network(cidr) for cidr in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",  # RFC 1918
    "100.64.0.0/10",  # RFC 6598: AWS accepts it as a VPC CIDR
    "fc00::/7",  # IPv6 unique local addresses
))


@dataclass(frozen=True)
class Expectation:
    """Where a name must point: the VPC's CIDRs and the owner's interface addresses, or why that is unknown."""

    vpc_id: str
    networks: tuple[IPNetwork, ...] = ()
    interfaces: Interfaces | None = None
    problem: str | None = None


@dataclass(frozen=True)
class DnsOutcome:
    result: CheckResult
    # The resolved addresses that passed every test: the only ones the other checks connect to.
    verified: tuple[IPAddress, ...]


def _vpc(aws: VerifyAws, vpc_id: str) -> tuple[tuple[IPNetwork, ...] | None, str | None]:
    networks = aws.vpc_networks(vpc_id)
    if networks is None:
        return None, f"VPC {vpc_id} does not exist in {aws.region} (or this account)"
    return networks, None


def endpoint_expectation(aws: VerifyAws, vpc_id: str, endpoint_id: str) -> Expectation:
    """The service's hostname must resolve to the PrivateLink endpoint's interface addresses in ``vpc_id``."""
    networks, problem = _vpc(aws, vpc_id)
    if networks is None:
        return Expectation(vpc_id, problem=problem)
    interfaces = aws.endpoint_interfaces(endpoint_id)
    if interfaces is None:
        return Expectation(vpc_id, networks, problem=f"VPC endpoint {endpoint_id} does not exist in {aws.region}")
    if interfaces.vpc_id != vpc_id:
        return Expectation(vpc_id, networks, problem=f"VPC endpoint {endpoint_id} is in {interfaces.vpc_id}, "
                                                     f"not in the stack's VPC {vpc_id}")
    if not interfaces.addresses:
        return Expectation(vpc_id, networks, problem=f"VPC endpoint {endpoint_id} has no network interfaces "
                                                     "(is it still pending, or in no subnet?)")
    return Expectation(vpc_id, networks, interfaces)


def nlb_expectation(aws: VerifyAws, vpc_id: str) -> Expectation:
    """The BYOC record must resolve to the addresses of the internal network load balancers in ``vpc_id``."""
    networks, problem = _vpc(aws, vpc_id)
    if networks is None:
        return Expectation(vpc_id, problem=problem)
    internal = aws.network_load_balancers(vpc_id).get("internal")
    if internal is None:
        return Expectation(vpc_id, networks, problem=f"no internal network load balancer exists in {vpc_id} "
                                                     "(has ClickHouse enabled the private load balancer?)")
    if not internal.addresses:
        return Expectation(vpc_id, networks, problem=f"the {internal.owner} has no network interfaces in {vpc_id}")
    return Expectation(vpc_id, networks, internal)


def is_private(address: IPAddress) -> bool:
    return any(address.version == net.version and address in net for net in PRIVATE_NETWORKS)


def _judge(address: IPAddress, expectation: Expectation) -> list[str]:
    """Why ``address`` is not where the name must point (empty when it is)."""
    reasons = []
    if not is_private(address):
        reasons.append("not a private address")
    if not any(address.version == net.version and address in net for net in expectation.networks):
        cidrs = ", ".join(str(net) for net in expectation.networks)
        reasons.append(f"outside {expectation.vpc_id} ({cidrs})")
    if expectation.interfaces is not None and address not in expectation.interfaces.addresses:
        reasons.append(f"not an address of the {expectation.interfaces.owner}")
    return reasons


def check_dns(check_id: str, title: str, host: str, expectation: Expectation, network: Network,
              timeout: float) -> DnsOutcome:
    try:
        addresses = network.resolve(host, timeout)
    except ResolutionError as err:
        return DnsOutcome(failed(check_id, title, f"{host} does not resolve from this host: {err}. Run the check "
                                 "inside the VPC, or in a network whose resolver answers the VPC's private zone."), ())
    shown = ", ".join(str(a) for a in addresses)
    if expectation.problem is not None:
        return DnsOutcome(failed(check_id, title, f"{host} resolves to {shown}, but {expectation.problem}.",
                                 addresses=[str(a) for a in addresses]), ())
    assert expectation.interfaces is not None  # set whenever there is no problem
    verdicts = {address: _judge(address, expectation) for address in addresses}
    verified = tuple(address for address, reasons in verdicts.items() if not reasons)
    details = tuple(f"{address}: {'; '.join(reasons) if reasons else 'ok'}" for address, reasons in verdicts.items())
    facts = {"addresses": [str(a) for a in addresses],
             "expected": sorted(str(a) for a in expectation.interfaces.addresses)}
    wrong = [str(address) for address in addresses if address not in verified]
    if wrong:
        return DnsOutcome(failed(check_id, title, f"{host} resolves to {shown}: {', '.join(wrong)} "
                                 f"{'are' if len(wrong) > 1 else 'is'} not the {expectation.interfaces.owner}'s "
                                 f"private address in {expectation.vpc_id}.", details, **facts), verified)
    return DnsOutcome(passed(check_id, title, f"{host} resolves to {shown}: private addresses of the "
                             f"{expectation.interfaces.owner} in {expectation.vpc_id}.", **facts), verified)
