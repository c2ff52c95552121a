"""Address coverage: unions of CIDRs against the public address space, checked against ipaddress's own arithmetic."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy.clickhouse_aws_policy.evaluation.addresses import (
    PUBLIC,
    Coverage,
    exposure,
    merge,
    parse_network,
    reaches_public,
)

NOT_PUBLIC_V4 = [ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
    "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/3")]


def nets(*cidrs: str) -> list:
    return [ipaddress.ip_network(c) for c in cidrs]


@pytest.mark.parametrize("text,expected", [
    ("10.0.0.0/8", "10.0.0.0/8"),
    (" 0.0.0.0/0 ", "0.0.0.0/0"),
    ("10.1.2.3/8", "10.0.0.0/8"),  # host bits are accepted, as AWS accepts them
    ("203.0.113.7", "203.0.113.7/32"),
    ("::/0", "::/0"),
    ("not-a-cidr", None),
    ("0/0", None),
    (None, None),
])
def test_parse_network(text, expected) -> None:
    parsed = parse_network(text)
    assert (str(parsed) if parsed else None) == expected


@pytest.mark.parametrize("cidrs,reason", [
    (["0.0.0.0/0"], "the whole IPv4 internet"),
    (["0.0.0.0/1", "128.0.0.0/1"], "the whole IPv4 internet"),
    (["::/0"], "the whole IPv6 internet"),
    (["::/1", "8000::/1"], "the whole IPv6 internet"),
    (["2000::/3"], "the whole IPv6 internet"),
    (["2000::/4", "3000::/4"], "the whole IPv6 internet"),
    (["::ffff:0:0/96"], "the whole IPv4 internet"),  # IPv4-mapped IPv6 names every IPv4 address
    (["64:ff9b::/97", "64:ff9b::8000:0/97"], "the whole IPv4 internet"),  # NAT64, in halves
    # The public space without the private and reserved ranges is still all of it.
    (["1.0.0.0/8", "2.0.0.0/7", "4.0.0.0/6", "8.0.0.0/7", "11.0.0.0/8", "12.0.0.0/6", "16.0.0.0/4", "32.0.0.0/3",
      "64.0.0.0/2", "128.0.0.0/2", "192.0.0.0/3"], "the whole IPv4 internet"),
])
def test_the_whole_internet_in_any_spelling(cidrs: list[str], reason: str) -> None:
    assert exposure(nets(*cidrs)) == reason


@pytest.mark.parametrize("cidrs", [
    ["0.0.0.0/1"], ["1.0.0.0/8"], ["52.0.0.0/15"], ["2600::/12"], ["2001:db8::/32", "2600:1f00::/24"],
])
def test_very_wide_public_ranges(cidrs: list[str]) -> None:
    assert "public IPv" in (exposure(nets(*cidrs)) or "")


@pytest.mark.parametrize("cidrs", [
    ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"],
    ["203.0.113.0/24", "198.51.100.7/32"],
    ["52.94.0.0/16"],  # exactly one /16 is not wider than /16
    ["2600:1f18:1234::/48"],
    ["fd00::/8", "fe80::/10"],
    [],
])
def test_private_or_narrow_sources_are_not_open(cidrs: list[str]) -> None:
    assert exposure(nets(*cidrs)) is None


def test_the_threshold_is_configurable() -> None:
    assert exposure(nets("52.94.0.0/16"), {4: 24}) is not None
    assert exposure(nets("1.0.0.0/8"), {4: 8}) is None
    assert exposure(nets("2600::/24"), {6: 16}) is None


def test_reaches_public() -> None:
    assert reaches_public(nets("8.8.8.8/32")) and reaches_public(nets("2600::/64"))
    assert not reaches_public(nets("10.0.0.0/8", "fd00::/8", "203.0.113.0/24"))


def reference_public_count(networks: list) -> int:
    """Public IPv4 addresses by ipaddress's own collapse and containment, not by intervals."""
    total = 0
    for net in ipaddress.collapse_addresses(networks):
        overlap = sum(n.num_addresses if n.subnet_of(net) else net.num_addresses if net.subnet_of(n) else 0
                      for n in NOT_PUBLIC_V4)
        total += net.num_addresses - overlap
    return total


v4_networks = st.builds(lambda address, prefix: ipaddress.IPv4Network((address, prefix), strict=False),
                        st.integers(0, 2**32 - 1), st.integers(0, 32))


@given(st.lists(v4_networks, max_size=12))
def test_public_count_matches_ipaddress(networks: list) -> None:
    assert Coverage.of(networks).public_count(4) == reference_public_count(networks)


@given(st.lists(v4_networks, max_size=12))
def test_merged_intervals_match_collapse(networks: list) -> None:
    collapsed = list(ipaddress.collapse_addresses(networks))
    intervals = merge((int(n.network_address), int(n.broadcast_address)) for n in networks)
    assert sum(h - l + 1 for l, h in intervals) == sum(n.num_addresses for n in collapsed)


@given(v4_networks, st.integers(0, 6), st.data())
def test_splitting_a_network_changes_nothing(network, depth: int, data) -> None:
    """A union spelled as subnets of every size is the same union; dropping a public piece opens a hole."""
    pieces = [network]
    for _ in range(depth):
        index = data.draw(st.integers(0, len(pieces) - 1))
        if pieces[index].prefixlen < 32:
            pieces[index:index + 1] = list(pieces[index].subnets())
    whole, split = Coverage.of([network]), Coverage.of(data.draw(st.permutations(pieces)))
    assert (split.public_count(4), split.covers_public(4)) == (whole.public_count(4), whole.covers_public(4))
    public_pieces = [p for p in pieces if Coverage.of([p]).public_count(4)]
    if public_pieces:
        dropped = data.draw(st.sampled_from(public_pieces))
        rest = Coverage.of([p for p in pieces if p is not dropped])
        assert rest.public_count(4) < whole.public_count(4) and not rest.covers_public(4)


@given(st.integers(1, 8), st.data())
def test_any_full_split_of_the_internet_is_the_whole_internet(depth: int, data) -> None:
    version = data.draw(st.sampled_from([4, 6]))
    root = ipaddress.ip_network("0.0.0.0/0" if version == 4 else "::/0")
    pieces = list(root.subnets(new_prefix=depth))
    assert exposure(data.draw(st.permutations(pieces))) == f"the whole IPv{version} internet"
    # Leaving one piece out opens a hole exactly when that piece holds public addresses.
    left_out = data.draw(st.integers(0, len(pieces) - 1))
    rest = Coverage.of(pieces[:left_out] + pieces[left_out + 1:])
    assert rest.covers_public(version) == (Coverage.of([pieces[left_out]]).public_count(version) == 0)


def test_public_space_sizes() -> None:
    # 2^32 minus the reserved ranges; 2000::/3 minus 2001:db8::/32.
    assert sum(h - l + 1 for l, h in PUBLIC[4]) == 2**32 - sum(n.num_addresses for n in NOT_PUBLIC_V4)
    assert sum(h - l + 1 for l, h in PUBLIC[6]) == 2**125 - 2**96
