"""The network config (a VPC the program creates, or an existing one) and its checks, before and after the lookups.

``read_network`` checks what the keys say about each other; ``resolve_layout`` checks what AWS reports about the
region and an adopted VPC (``FoundNetwork``, looked up by ``components.network.find_network``) against them, and
settles the zones and route tables the components use.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Optional, Sequence

from stack_config.keys import ConfigReader, Problems


@dataclass(frozen=True)
class NetworkConfig:
    """Where the endpoint lives: a VPC this program creates, or an existing one."""

    vpc_cidr: str
    az_count: int
    subnet_prefix_length: int
    flow_log_retention_days: int
    existing_vpc_id: Optional[str] = None
    existing_subnet_ids: tuple[str, ...] = ()
    # Zone IDs a created VPC takes first (zone names map to different zones in each account; IDs do not).
    preferred_zone_ids: tuple[str, ...] = ()
    # "none", "nat" or "transit-gateway" (only for a VPC the stack creates; an adopted VPC's routing is its owner's).
    egress: str = "none"
    nat_gateway_per_zone: bool = True
    egress_subnet_prefix_length: int = 28
    transit_gateway_id: Optional[str] = None

    @property
    def creates_vpc(self) -> bool:
        return self.existing_vpc_id is None

    @property
    def nat_count(self) -> int:
        """How many NAT gateways (and egress subnets) egress nat makes: one per zone, or one for the VPC."""
        return self.az_count if self.nat_gateway_per_zone else 1

    def egress_subnet_cidrs(self) -> list[str]:
        """The NAT gateways' subnets: the last ``nat_count`` blocks of ``egress_subnet_prefix_length`` in the VPC CIDR,
        in zone order, as far as possible from the private subnets carved from its start."""
        network = ipaddress.ip_network(self.vpc_cidr)
        size = 2 ** (32 - self.egress_subnet_prefix_length)
        last = int(network.broadcast_address) + 1
        return [str(ipaddress.ip_network((last - size * (self.nat_count - i), self.egress_subnet_prefix_length)))
                for i in range(self.nat_count)]

    def subnet_cidrs(self) -> list[str]:
        """The first ``az_count`` subnets of ``subnet_prefix_length`` carved from the VPC CIDR, in order."""
        network = ipaddress.ip_network(self.vpc_cidr)
        subnets = network.subnets(new_prefix=self.subnet_prefix_length)
        return [str(next(subnets)) for _ in range(self.az_count)]


def networks(cidrs: Sequence[str]) -> list[ipaddress.IPv4Network]:
    """The CIDRs that parse; the others are reported by their key's facts."""
    parsed = []
    for text in cidrs:
        try:
            parsed.append(ipaddress.IPv4Network(text, strict=True))
        except ValueError:
            continue
    return parsed


def read_network(r: ConfigReader) -> NetworkConfig:
    vpc_id, subnet_ids = r.get("vpcId"), r.get("subnetIds")
    az_count, prefix = r.get("azCount"), r.get("subnetPrefixLength")
    cidr_text, retention = r.get("vpcCidr"), r.get("flowLogRetentionDays")
    reserved = networks(r.get("reservedCidrs"))

    zone_ids = tuple(r.get("availabilityZoneIds"))
    r.check(not (vpc_id and zone_ids), "availabilityZoneIds",
            "applies only to a VPC this program creates; an adopted VPC's zones are those of its subnetIds")
    egress = _read_egress(r, bool(vpc_id))
    if subnet_ids and not vpc_id:
        r.problem("subnetIds", "is set but vpcId is not: give the VPC that holds these subnets, or remove subnetIds to create a VPC")
    if vpc_id:
        r.check(len(subnet_ids) >= az_count, "subnetIds",
                f"has {len(subnet_ids)} subnet(s) but azCount is {az_count}: give one private subnet per availability zone")
        return NetworkConfig(cidr_text, az_count, prefix, retention, vpc_id, tuple(subnet_ids), **egress)

    if r.valid("vpcCidr"):
        vpc = ipaddress.IPv4Network(cidr_text)
        r.check(16 <= vpc.prefixlen <= 24, "vpcCidr",
                f"{cidr_text} must be between /16 and /24 (AWS allows /16 to /28; smaller leaves no room for subnets)")
        if r.valid("subnetPrefixLength") and r.check(vpc.prefixlen < prefix, "subnetPrefixLength",
                                                     f"/{prefix} does not fit in {cidr_text}: it must be longer than /{vpc.prefixlen}"):
            room = 2 ** (prefix - vpc.prefixlen)
            r.check(room >= az_count, "subnetPrefixLength",
                    f"{cidr_text} holds only {room} subnet(s) of /{prefix}, but azCount is {az_count}; use a longer prefix or a larger VPC")
        for other in reserved:
            r.check(not vpc.overlaps(other), "vpcCidr", f"{cidr_text} overlaps reserved range {other}; pick a VPC CIDR outside it")
    cfg = NetworkConfig(cidr_text, az_count, prefix, retention, preferred_zone_ids=zone_ids, **egress)
    if cfg.egress == "nat" and r.valid("vpcCidr") and r.valid("subnetPrefixLength") and r.valid("egressSubnetPrefixLength"):
        _egress_subnet_problems(r, cfg)
    return cfg


def _read_egress(r: ConfigReader, adopted: bool) -> dict:
    """The egress settings, each read only where its mode uses it, so a leftover key is reported rather than ignored."""
    egress, tgw = r.get("egress"), r.get("transitGatewayId")
    if adopted:
        r.check(egress == "none", "egress",
                f"is {egress} but vpcId adopts an existing VPC, whose routing stays with its owner: give the adopted "
                "subnets their outbound path there and set egress to none")
    if egress == "transit-gateway":
        r.check(bool(tgw), "transitGatewayId",
                "is not set but egress is transit-gateway: give the transit gateway the private subnets default-route "
                "to, e.g. your organisation's inspected egress VPC's (tgw-0123456789abcdef0)")
    else:
        r.check(not tgw, "transitGatewayId", f"is set but egress is {egress}: set egress to transit-gateway, or remove it")
    return {"egress": egress, "nat_gateway_per_zone": r.get("natGatewayPerZone"),
            "egress_subnet_prefix_length": r.get("egressSubnetPrefixLength"), "transit_gateway_id": tgw or None}


def _egress_subnet_problems(r: ConfigReader, cfg: NetworkConfig) -> None:
    """The NAT gateways' subnets must fit in the VPC without touching the private subnets (they lie in the VPC, which
    is already kept clear of every reserved range)."""
    vpc, prefix = ipaddress.IPv4Network(cfg.vpc_cidr), cfg.egress_subnet_prefix_length
    if not r.check(vpc.prefixlen < prefix and 2 ** (prefix - vpc.prefixlen) >= cfg.nat_count, "egressSubnetPrefixLength",
                   f"{cfg.nat_count} egress subnet(s) of /{prefix} do not fit in {cfg.vpc_cidr}; use a longer prefix"):
        return
    taken = networks(cfg.subnet_cidrs())
    clashes = [f"{cidr} overlaps {', '.join(str(t) for t in taken if t.overlaps(cidr))}"
               for cidr in networks(cfg.egress_subnet_cidrs()) if any(t.overlaps(cidr) for t in taken)]
    r.check(not clashes, "egressSubnetPrefixLength",
            f"the egress subnets, taken from the end of {cfg.vpc_cidr}, collide: {'; '.join(clashes)}; use a longer "
            "egress prefix, smaller private subnets or a larger VPC")


@dataclass(frozen=True)
class FoundVpc:
    id: str
    cidr_block: str
    dns_support: bool
    dns_hostnames: bool


@dataclass(frozen=True)
class FoundSubnet:
    id: str
    vpc_id: str
    availability_zone: str
    cidr_block: str
    map_public_ip_on_launch: bool


@dataclass(frozen=True)
class FoundNetwork:
    """What AWS reports about the network the config names, looked up before any resource is declared."""

    # The region's available zones, for a VPC the program creates: their names and, in the same order, their IDs
    # (empty when only the names are known).
    zones: tuple[str, ...] = ()
    zone_ids: tuple[str, ...] = ()
    # The adopted VPC and its subnets (in subnetIds order).
    vpc: Optional[FoundVpc] = None
    subnets: tuple[FoundSubnet, ...] = ()
    # The route tables of the adopted subnets; looked up only when BYOC needs them for the S3 gateway endpoint.
    route_table_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class NetworkLayout:
    """The network as config and AWS together settle it; components only compute from it."""

    zones: tuple[str, ...]
    existing_vpc_cidr: Optional[str] = None
    # Each adopted subnet's CIDR, in subnetIds order.
    existing_subnet_cidrs: tuple[str, ...] = ()
    # The adopted subnets' route tables (BYOC's S3 gateway endpoint goes there); empty for a VPC the stack creates.
    route_table_ids: tuple[str, ...] = ()
    # The zone of each subnet the endpoint may use, in the order of the network's subnet IDs.
    subnet_zones: tuple[str, ...] = ()


def network_layout(p: Problems, cfg: NetworkConfig, region: str, found: FoundNetwork) -> NetworkLayout:
    """Pick the zones for a new VPC, or check the adopted VPC's subnets, adding to ``p`` what does not fit."""
    if cfg.creates_vpc:
        zones = _chosen_zones(p, cfg, region, found)
        return NetworkLayout(zones, subnet_zones=zones)

    vpc, subnets = found.vpc, found.subnets
    zones = sorted({s.availability_zone for s in subnets})
    foreign = [s.id for s in subnets if s.vpc_id != vpc.id]
    p.check(not foreign, "subnetIds", f"{', '.join(foreign)} are not in {vpc.id}")
    # An interface endpoint takes at most one subnet per zone (a second one fails the deploy), so with one subnet per
    # zone the subnets span as many zones as read_network made sure there are subnets: at least azCount.
    by_zone = {zone: [s.id for s in subnets if s.availability_zone == zone] for zone in zones}
    for zone, ids in by_zone.items():
        p.check(len(ids) == 1, "subnetIds",
                f"{', '.join(ids)} are all in {zone}: give one private subnet per availability zone, as the interface "
                "endpoints take one subnet per zone")
    public = [s.id for s in subnets if s.map_public_ip_on_launch]
    p.check(not public, "subnetIds", f"{', '.join(public)} assign public IPs on launch; use private subnets")
    return NetworkLayout(tuple(zones), vpc.cidr_block, tuple(s.cidr_block for s in subnets), found.route_table_ids,
                         subnet_zones=tuple(s.availability_zone for s in subnets))


def _chosen_zones(p: Problems, cfg: NetworkConfig, region: str, found: FoundNetwork) -> tuple[str, ...]:
    """The created VPC's zones: the preferred zone IDs, then the others in zone-ID order, so the choice means the same
    zones in every account. They are listed in name order, which fixes each zone's subnet CIDR as before."""
    names = dict(zip(found.zone_ids or found.zones, found.zones, strict=True))
    unknown = [zone_id for zone_id in cfg.preferred_zone_ids if zone_id not in names]
    p.check(not unknown, "availabilityZoneIds",
            f"{', '.join(unknown)} is not an available zone ID of {region}; its zone IDs are {', '.join(sorted(names))}")
    p.check(len(names) >= cfg.az_count, "azCount",
            f"{cfg.az_count} zones requested but {region} has only {len(names)} ({', '.join(found.zones)})")
    preferred = [zone_id for zone_id in cfg.preferred_zone_ids if zone_id in names]
    chosen = (preferred + sorted(set(names) - set(preferred)))[: cfg.az_count]
    return tuple(sorted(names[zone_id] for zone_id in chosen))
