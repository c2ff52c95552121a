"""Security group ingress in every spelling pulumi-aws 7 accepts, and which ports a set of rules opens to whom.

A group's ingress can live in its own definition (``ingress`` of ``SecurityGroup``/``DefaultSecurityGroup``), in
``aws.ec2.SecurityGroupRule`` resources (``type`` ingress) and in ``aws.vpc.SecurityGroupIngressRule`` resources, and
a source can be a CIDR or a managed prefix list. ``exposures`` takes any mix of rules and answers per protocol and
port range, because two halves of the internet admitted on *different* ports open neither port to everyone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping, Optional

from .evaluation.addresses import Network, exposure, parse_network, reaches_public
from .framework import Resource
from .values import dig, is_unknown

SECURITY_GROUP_TYPES = ("aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
VPC_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
RULE_TYPES = (SG_RULE, VPC_INGRESS_RULE)
PREFIX_LIST = "aws:ec2/managedPrefixList:ManagedPrefixList"
PREFIX_LIST_ENTRY = "aws:ec2/managedPrefixListEntry:ManagedPrefixListEntry"

_PROTOCOL_NUMBERS = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "-1": "all"}
_PORTED = ("tcp", "udp")
ALL_PORTS = (0, 65535)


@dataclass(frozen=True)
class IngressRule:
    """One ingress rule: where it is declared, the traffic it admits, and its CIDR and prefix-list sources."""

    resource: Resource
    where: str
    protocol: str
    ports: tuple[int, int]
    cidrs: tuple[str, ...]
    prefix_lists: tuple[Any, ...] = ()
    # The top-level input whose recorded dependencies name the prefix lists (``ingress`` for inline rules).
    dependency_field: str = ""
    unknown: tuple[str, ...] = ()
    invalid: tuple[str, ...] = ()
    networks: tuple[Network, ...] = field(default=())

    def with_sources(self, cidrs: Iterable[str]) -> "IngressRule":
        """The same rule admitting ``cidrs`` as well (what its prefix lists resolve to)."""
        extra = tuple(cidrs)
        nets = tuple(n for n in (parse_network(c) for c in extra) if n is not None)
        return IngressRule(self.resource, self.where, self.protocol, self.ports, self.cidrs + extra,
                           self.prefix_lists, self.dependency_field, self.unknown, self.invalid, self.networks + nets)


def _protocol(value: Any) -> str:
    if value is None or is_unknown(value):
        return "all"
    text = str(value).strip().lower()
    if text.endswith(".0"):
        text = text[:-2]
    return _PROTOCOL_NUMBERS.get(text, "all" if text in ("all", "") else text)


def _ports(protocol: str, low: Any, high: Any) -> tuple[int, int]:
    if protocol not in _PORTED:
        return ALL_PORTS
    try:
        a, b = int(low), int(high)
    except (TypeError, ValueError):
        return ALL_PORTS  # unknown or missing ports: assume every port
    if a < 0 or b < 0:
        return ALL_PORTS
    return (min(a, b), max(a, b))


def _rule(resource: Resource, where: str, body: Mapping[str, Any], protocol_key: str,
          cidr_keys: tuple[str, ...], prefix_key: str, dependency_field: str) -> IngressRule:
    protocol = _protocol(body.get(protocol_key))
    cidrs, unknown, invalid = [], [], []
    for key in cidr_keys:
        value = body.get(key)
        if is_unknown(value):
            unknown.append(key)
            continue
        for item in value if isinstance(value, list) else [value] if value is not None else []:
            if is_unknown(item):
                unknown.append(key)
            elif isinstance(item, str) and item:
                (cidrs if parse_network(item) else invalid).append(item)
    if is_unknown(body.get(protocol_key)):
        unknown.append(protocol_key)
    prefixes = body.get(prefix_key)
    prefix_lists = tuple(prefixes if isinstance(prefixes, list) else [prefixes] if prefixes else [])
    networks = tuple(n for n in (parse_network(c) for c in cidrs) if n is not None)
    return IngressRule(resource, where, protocol, _ports(protocol, body.get("fromPort"), body.get("toPort")),
                       tuple(cidrs), prefix_lists, dependency_field, tuple(unknown), tuple(invalid), networks)


def ingress_rules(resource: Resource) -> Iterator[IngressRule]:
    """The ingress rules ``resource`` declares (none for egress rules and other types); an unknown ``ingress`` list
    or rule ``type`` yields a rule admitting unknown sources."""
    props = resource.props
    if resource.type in SECURITY_GROUP_TYPES:
        rules = props.get("ingress")
        if is_unknown(rules):
            yield IngressRule(resource, "ingress", "all", ALL_PORTS, (), unknown=("ingress",))
            return
        for index, rule in enumerate(rules if isinstance(rules, list) else []):
            if is_unknown(rule):
                yield IngressRule(resource, f"ingress[{index}]", "all", ALL_PORTS, (), unknown=("ingress",))
            elif isinstance(rule, Mapping):
                yield _rule(resource, f"ingress[{index}]", rule, "protocol", ("cidrBlocks", "ipv6CidrBlocks"),
                            "prefixListIds", "ingress")
    elif resource.type == SG_RULE:
        # An unknown type may still be ingress, so only a known "egress" is skipped.
        if props.get("type") != "egress":
            yield _rule(resource, "the rule", props, "protocol", ("cidrBlocks", "ipv6CidrBlocks"), "prefixListIds",
                        "prefixListIds")
    elif resource.type == VPC_INGRESS_RULE:
        yield _rule(resource, "the rule", props, "ipProtocol", ("cidrIpv4", "cidrIpv6"), "prefixListId",
                    "prefixListId")


def describe_ports(protocol: str, ports: tuple[int, int]) -> str:
    if protocol == "all":
        return "all traffic"
    if protocol not in _PORTED or ports == ALL_PORTS:
        return f"all {protocol} ports" if protocol in _PORTED else f"all {protocol} traffic"
    low, high = ports
    return f"{protocol} {low}" if low == high else f"{protocol} {low}-{high}"


@dataclass(frozen=True)
class Exposure:
    """A protocol and port range the rules open to the internet, and the rules that together do it."""

    protocol: str
    ports: tuple[int, int]
    reason: str
    rules: tuple[IngressRule, ...]

    @property
    def traffic(self) -> str:
        return describe_ports(self.protocol, self.ports)

    def overlaps(self, other: "Exposure") -> bool:
        same = self.protocol == other.protocol or "all" in (self.protocol, other.protocol)
        return same and self.ports[0] <= other.ports[1] and other.ports[0] <= self.ports[1]

    def describe(self) -> str:
        wheres = sorted({r.where if len({x.resource.urn for x in self.rules}) == 1 else
                         f"{r.resource.name} {r.where}" for r in self.rules})
        sources = sorted({c for r in self.rules for c in r.cidrs})
        verb = "admits" if len(wheres) == 1 else "together admit"
        return f"{', '.join(wheres)} {verb} {', '.join(sources)} on {self.traffic}: {self.reason}"


def exposures(rules: Iterable[IngressRule], widest: Optional[dict[int, int]] = None) -> list[Exposure]:
    """Each protocol and port range on which the union of the rules' sources is open to the internet.

    Rules for ``all`` traffic count towards every protocol; each protocol's port line is cut wherever a rule starts
    or ends, and every piece is judged on the union of the rules covering it; neighbouring pieces with the same
    verdict are reported together.
    """
    rules = [r for r in rules if r.networks]
    found: list[Exposure] = []
    protocols = sorted({r.protocol for r in rules})
    for protocol in protocols:
        relevant = [r for r in rules if r.protocol in (protocol, "all")] if protocol != "all" else \
            [r for r in rules if r.protocol == "all"]
        cuts = sorted({p for r in relevant for p in (r.ports[0], r.ports[1] + 1)})
        previous: Optional[Exposure] = None
        for low, next_low in zip(cuts, cuts[1:]):
            piece = [r for r in relevant if r.ports[0] <= low and next_low - 1 <= r.ports[1]]
            reason = exposure([n for r in piece for n in r.networks], widest) if piece else None
            if not reason or (protocol != "all" and all(r.protocol == "all" for r in piece)):
                previous = None  # closed, or reported once under all traffic
                continue
            # Only the rules whose sources reach public addresses are named.
            named = tuple(r for r in piece if reaches_public(r.networks)) or tuple(piece)
            if previous and previous.reason == reason and previous.ports[1] + 1 == low and previous.rules == named:
                previous = found[-1] = Exposure(protocol, (previous.ports[0], next_low - 1), reason, named)
            else:
                previous = Exposure(protocol, (low, next_low - 1), reason, named)
                found.append(previous)
    return found


def prefix_list_cidrs(prefix_list: Resource, entries: Iterable[Resource]) -> list[str]:
    """The CIDRs of a managed prefix list: its inline ``entries`` and separate ``ManagedPrefixListEntry`` resources."""
    cidrs = []
    inline = prefix_list.props.get("entries")
    for entry in inline if isinstance(inline, list) else []:
        cidr = dig(entry, "cidr")
        if isinstance(cidr, str):
            cidrs.append(cidr)
    for entry in entries:
        cidr = entry.props.get("cidr")
        if isinstance(cidr, str):
            cidrs.append(cidr)
    return cidrs
