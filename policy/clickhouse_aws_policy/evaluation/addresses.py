"""Address coverage: what part of the public internet a set of CIDRs admits, however the set is spelled.

"Open to the internet" is a property of the *union* of the sources, not of any one of them: ``0.0.0.0/1`` plus
``128.0.0.0/1`` is as open as ``0.0.0.0/0``, and so is every public range listed one by one. The union is computed as
merged integer intervals per IP version and intersected with the public address space (everything but the private,
shared, loopback, link-local, documentation, benchmarking, multicast and reserved ranges; for IPv6 the global
unicast space ``2000::/3`` without the documentation prefix). IPv4-mapped (``::ffff:0:0/96``) and NAT64
(``64:ff9b::/96``) IPv6 ranges name IPv4 addresses and count as those.

A set that does not cover the whole public space can still be too wide to call restricted: ``wide`` compares the
number of public addresses admitted with one block of a configured prefix length.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Iterable, Optional, Union

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
Interval = tuple[int, int]  # inclusive

BITS = {4: 32, 6: 128}
# Defaults for "very wide": more public addresses than one /16 (IPv4) or one /48 (IPv6, a whole site).
WIDEST_PUBLIC_PREFIX = {4: 16, 6: 48}

_NOT_PUBLIC_V4 = [
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
    "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/3",
]
_PUBLIC_V6 = "2000::/3"
_NOT_PUBLIC_V6 = ["2001:db8::/32"]
_IPV4_IN_IPV6 = [ipaddress.IPv6Network("::ffff:0:0/96"), ipaddress.IPv6Network("64:ff9b::/96")]


def _interval(network: Network) -> Interval:
    return int(network.network_address), int(network.broadcast_address)


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, disjoint, non-adjacent intervals covering the same addresses."""
    merged: list[Interval] = []
    for low, high in sorted(intervals):
        if merged and low <= merged[-1][1] + 1:
            if high > merged[-1][1]:
                merged[-1] = (merged[-1][0], high)
        else:
            merged.append((low, high))
    return merged


def subtract(intervals: list[Interval], removed: list[Interval]) -> list[Interval]:
    """``intervals`` minus ``removed``; both merged."""
    result: list[Interval] = []
    j = 0
    for low, high in intervals:
        while j < len(removed) and removed[j][1] < low:
            j += 1
        k, start = j, low
        while k < len(removed) and removed[k][0] <= high:
            if removed[k][0] > start:
                result.append((start, removed[k][0] - 1))
            start = max(start, removed[k][1] + 1)
            k += 1
        if start <= high:
            result.append((start, high))
    return result


def intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    """The common part of two merged interval lists."""
    result: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        low, high = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if low <= high:
            result.append((low, high))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return result


def _size(intervals: Iterable[Interval]) -> int:
    return sum(high - low + 1 for low, high in intervals)


PUBLIC = {
    4: subtract([(0, 2**32 - 1)], merge(_interval(ipaddress.ip_network(n)) for n in _NOT_PUBLIC_V4)),
    6: subtract([_interval(ipaddress.ip_network(_PUBLIC_V6))],
                merge(_interval(ipaddress.ip_network(n)) for n in _NOT_PUBLIC_V6)),
}


def parse_network(text: object) -> Optional[Network]:
    """A CIDR or a bare address (host bits allowed, as AWS and ClickHouse accept them), or None if it is neither."""
    if not isinstance(text, str):
        return None
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def _as_v4(network: Network) -> Optional[ipaddress.IPv4Network]:
    """The IPv4 range an IPv4-mapped or NAT64 IPv6 range names, or None."""
    if network.version != 6:
        return None
    for embedding in _IPV4_IN_IPV6:
        if network.prefixlen >= 96 and network.subnet_of(embedding):
            return ipaddress.IPv4Network((int(network.network_address) & 0xFFFFFFFF, network.prefixlen - 96))
    return None


@dataclass(frozen=True)
class Coverage:
    """The union of some networks, per IP version, as merged intervals."""

    v4: tuple[Interval, ...]
    v6: tuple[Interval, ...]

    @classmethod
    def of(cls, networks: Iterable[Network]) -> "Coverage":
        v4: list[Interval] = []
        v6: list[Interval] = []
        for network in networks:
            mapped = _as_v4(network)
            if mapped is not None:
                v4.append(_interval(mapped))
            elif network.version == 4:
                v4.append(_interval(network))
            else:
                v6.append(_interval(network))
        return cls(tuple(merge(v4)), tuple(merge(v6)))

    def _by_version(self, version: int) -> list[Interval]:
        return list(self.v4 if version == 4 else self.v6)

    def public(self, version: int) -> list[Interval]:
        """The public addresses admitted, as intervals."""
        return intersect(self._by_version(version), PUBLIC[version])

    def public_count(self, version: int) -> int:
        return _size(self.public(version))

    def covers_public(self, version: int) -> bool:
        """Every public address of this IP version is admitted."""
        return not subtract(PUBLIC[version], self._by_version(version))

    def wide(self, version: int, widest_prefix: Optional[int] = None) -> bool:
        """More public addresses are admitted than one block of ``widest_prefix`` bits holds."""
        prefix = WIDEST_PUBLIC_PREFIX[version] if widest_prefix is None else widest_prefix
        return self.public_count(version) > 2 ** (BITS[version] - prefix)


def exposure(networks: Iterable[Network], widest: Optional[dict[int, int]] = None) -> Optional[str]:
    """Why ``networks`` taken together are open to the internet, or None if they are not.

    Open means: they admit the whole public address space of an IP version, or more of it than one block of the
    widest allowed prefix (``widest`` maps 4 and 6 to prefix lengths; the defaults are ``WIDEST_PUBLIC_PREFIX``).
    """
    coverage = Coverage.of(networks)
    limits = {**WIDEST_PUBLIC_PREFIX, **(widest or {})}
    for version in (4, 6):
        if coverage.covers_public(version):
            return f"the whole IPv{version} internet"
        if coverage.wide(version, limits[version]):
            count = coverage.public_count(version)
            return (f"{count:,} public IPv{version} addresses, more than one /{limits[version]} "
                    f"({2 ** (BITS[version] - limits[version]):,})")
    return None


def reaches_public(networks: Iterable[Network]) -> bool:
    """Some address of ``networks`` is public."""
    coverage = Coverage.of(networks)
    return any(coverage.public(version) for version in (4, 6))
