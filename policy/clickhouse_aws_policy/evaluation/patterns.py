"""Wildcard patterns as IAM evaluates them: ``*`` matches any run of characters (``:`` and ``/`` included), ``?``
exactly one. Actions compare case-insensitively, resources and condition values case-sensitively.

Besides matching one value, the policies ask the inverse question — does a pattern admit *every* value that starts
with some prefix (every action of a service, every role of an account, every subject of an issuer)? ``covers`` answers
it exactly for these patterns by running the pattern as a small automaton over the prefix.
"""

from __future__ import annotations

import re
from functools import lru_cache

WILDCARDS = ("*", "?")


@lru_cache(maxsize=4096)
def _regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def matches(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """Whether ``value`` matches the wildcard ``pattern`` as a whole."""
    return _regex(pattern, ignore_case).fullmatch(value) is not None


def has_wildcard(text: str) -> bool:
    return any(w in text for w in WILDCARDS)


def literal_prefix(pattern: str) -> str:
    """The characters before the first wildcard: every value the pattern matches starts with them."""
    cut = min((i for i in (pattern.find("*"), pattern.find("?")) if i >= 0), default=len(pattern))
    return pattern[:cut]


def _closure(pattern: str, states: set[int]) -> set[int]:
    """States reachable without reading a character: a ``*`` may match nothing."""
    result, todo = set(states), list(states)
    while todo:
        i = todo.pop()
        if i < len(pattern) and pattern[i] == "*" and i + 1 not in result:
            result.add(i + 1)
            todo.append(i + 1)
    return result


def covers(pattern: str, prefix: str = "", *, ignore_case: bool = False, min_rest: int = 0) -> bool:
    """Whether ``pattern`` matches every value ``prefix + rest`` with ``len(rest) >= min_rest``.

    ``min_rest=1`` asks about every non-empty continuation (an action name, a role name), so ``s3:?*`` covers every
    S3 action although it does not match ``s3:`` itself.
    """
    fold = str.lower if ignore_case else str
    states = _closure(pattern, {0})
    for char in prefix:
        step = set()
        for i in states:
            if i < len(pattern):
                if pattern[i] == "*":
                    step.add(i)
                elif pattern[i] == "?" or fold(pattern[i]) == fold(char):
                    step.add(i + 1)
        states = _closure(pattern, step)
        if not states:
            return False
    # What is left of the pattern must accept every continuation of at least min_rest characters: only wildcards,
    # at most min_rest of them '?', and a '*' unless the '?'s alone fix the length (they never do for min_rest=0).
    for i in states:
        rest = pattern[i:]
        if set(rest) <= set(WILDCARDS) and rest.count("?") <= min_rest and "*" in rest:
            return True
    return False


def pattern_within(inner: str, outer: str, *, ignore_case: bool = False) -> bool:
    """A sufficient test that every value ``inner`` matches is also matched by ``outer``.

    Exact for the usual shapes (``s3:GetObject`` within ``s3:*``, ``s3:Get*`` within ``s3:*``); it may say no for
    exotic pairs, which callers treat as "not shown to be covered".
    """
    if not has_wildcard(inner):
        return matches(outer, inner, ignore_case=ignore_case)
    return covers(outer, literal_prefix(inner), ignore_case=ignore_case)
