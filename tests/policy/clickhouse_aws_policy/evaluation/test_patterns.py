"""Wildcard patterns: matching one value, and the inverse question of covering every value with a prefix."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy.clickhouse_aws_policy.evaluation.patterns import covers, literal_prefix, matches, pattern_within

ALPHABET = "ab:/"
patterns = st.text(alphabet=ALPHABET + "*?", max_size=8)
texts = st.text(alphabet=ALPHABET, max_size=10)


def reference_match(pattern: str, value: str) -> bool:
    """IAM's wildcard semantics spelled out recursively, independent of the regex translation."""
    if not pattern:
        return not value
    head, rest = pattern[0], pattern[1:]
    if head == "*":
        return any(reference_match(rest, value[i:]) for i in range(len(value) + 1))
    return bool(value) and (head == "?" or head == value[0]) and reference_match(rest, value[1:])


@pytest.mark.parametrize("pattern,value,ignore_case,expected", [
    ("s3:*", "s3:GetObject", False, True),
    ("S3:getobject", "s3:GetObject", True, True),
    ("S3:getobject", "s3:GetObject", False, False),
    ("s3:Get?bject", "s3:GetObject", False, True),
    ("s3:Get?bject", "s3:Getbject", False, False),
    ("arn:aws:iam::*:role/x", "arn:aws:iam::123456789012:role/x", False, True),
    ("*", "", False, True),
    ("a.b", "axb", False, False),  # regex metacharacters are literal
    ("arn:*", "arn:aws:s3:::b/with/slashes:and:colons", False, True),
])
def test_matches(pattern: str, value: str, ignore_case: bool, expected: bool) -> None:
    assert matches(pattern, value, ignore_case=ignore_case) is expected


@given(patterns, texts)
def test_matches_agrees_with_the_reference_semantics(pattern: str, value: str) -> None:
    assert matches(pattern, value) == reference_match(pattern, value)


@pytest.mark.parametrize("pattern,prefix,min_rest,expected", [
    ("*", "", 0, True),
    ("s3:*", "s3:", 0, True),
    ("s3:*", "S3:", 0, False),  # case matters unless asked
    ("s3:Get*", "s3:", 0, False),
    ("s3:?*", "s3:", 1, True),
    ("s3:?*", "s3:", 0, False),  # "s3:" itself does not match
    ("s3:?", "s3:", 1, False),
    ("arn:aws:iam::*:role/*", "arn:aws:iam::123456789012:role/", 0, True),
    ("arn:aws:iam::123456789012:role/*", "arn:aws:iam::210987654321:role/", 0, False),
    ("a*b*", "a", 0, False),
    ("**", "anything", 0, True),
    ("x", "", 0, False),
])
def test_covers(pattern: str, prefix: str, min_rest: int, expected: bool) -> None:
    assert covers(pattern, prefix, min_rest=min_rest) is expected


@given(patterns, texts, texts)
def test_covering_a_prefix_means_matching_every_continuation(pattern: str, prefix: str, rest: str) -> None:
    if covers(pattern, prefix):
        assert reference_match(pattern, prefix + rest)


@given(patterns, st.lists(texts, min_size=1, max_size=4), patterns)
def test_pattern_within_is_sound(inner: str, fillers: list[str], outer: str) -> None:
    """Whatever ``inner`` matches, ``outer`` matches too when ``pattern_within`` says so."""
    if not pattern_within(inner, outer):
        return
    # A value ``inner`` matches: each wildcard replaced by some text ('?' by one character).
    value, index = [], 0
    for char in inner:
        if char == "*":
            value.append(fillers[index % len(fillers)])
            index += 1
        elif char == "?":
            value.append((fillers[index % len(fillers)] or "a")[0])
            index += 1
        else:
            value.append(char)
    assert reference_match(outer, "".join(value))


def test_literal_prefix() -> None:
    assert literal_prefix("repo:acme/*") == "repo:acme/"
    assert literal_prefix("a?b*") == "a"
    assert literal_prefix("fixed") == "fixed"
