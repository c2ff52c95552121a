"""Stack and project files read as the Pulumi CLI reads them, so the offline gate sees the config `pulumi up` would.

The CLI parses YAML with gopkg.in/yaml.v3 and hands each config value to the program as text
(pulumi/sdk go/common/resource/config/object.go, ``unmarshalObject`` and ``MarshalString``). PyYAML follows YAML 1.1
instead, and the two disagree on plain (unquoted) scalars a stack file can well contain:

==================  ===========================  ==========================
in the stack file   PyYAML (YAML 1.1)            the program, under the CLI
==================  ===========================  ==========================
``yes`` / ``on``    true                         ``yes`` / ``on``
``12:30``           750 (base 60)                ``12:30``
``3.0``             3.0                          ``3`` (JSON number)
``1e3``             the string ``1e3``           ``1000``
``2024-01-02``      a date                       ``2024-01-02 00:00:00 +0000 UTC``
``key:`` (null)     None                         the empty string (the CLI warns)
==================  ===========================  ==========================

``load`` resolves plain scalars with yaml.v3's rules (``resolve.go``: its table of null, bool and special floats, then
timestamp, int by Go's ``ParseInt`` with base 0, uint, and its float pattern); ``config_text`` encodes a value as
``MarshalString`` does (strings as they are, other scalars and structures as Go's ``encoding/json`` writes them).
Checked against CLI v3.274.1 by e2e/tests/test_stack_yaml.py.

A timestamp with a non-zero offset is written with the offset for its zone name, as Go does for a zone it does not
know; a CLI on a machine whose local zone has that offset would write the zone's abbreviation instead.
"""

from __future__ import annotations

import datetime
import json
import math
import re
from decimal import Decimal
from typing import Any

import yaml

_PLAIN = "tag:clickhouse-aws,2026:plain"  # every plain scalar, resolved by _resolve

# yaml.v3's resolveMap: the only spellings of null, bool and the special floats.
_NAMED: dict[str, Any] = {
    **dict.fromkeys(("true", "True", "TRUE"), True),
    **dict.fromkeys(("false", "False", "FALSE"), False),
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), None),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
}
_YAML_STYLE_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_DOT_FLOAT = re.compile(r"\.[0-9]+([eE][-+]?[0-9]+)?")  # what Go's ParseFloat takes after a leading '.'
# Go's ParseInt with base 0 (underscores already removed, as yaml.v3 removes them).
_GO_INT = re.compile(r"([-+]?)(0[xX][0-9a-fA-F]+|0[bB][01]+|0[oO][0-7]+|0[0-7]*|[1-9][0-9]*)")
_INT64 = range(-(2**63), 2**63)
_UINT64 = range(0, 2**64)
# yaml.v3's allowedTimestampFormats: T or t with a zone (Z or +hh:mm), space without one, or the date alone.
_TIMESTAMP = re.compile(
    r"(?P<y>[0-9]{4})-(?P<mo>[0-9]{1,2})-(?P<d>[0-9]{1,2})"
    r"(?:(?:(?P<sep>[Tt])|(?P<space> ))(?P<h>[0-9]{1,2}):(?P<mi>[0-9]{1,2}):(?P<s>[0-9]{1,2})(?:[.,](?P<frac>[0-9]+))?"
    r"(?P<zone>Z|[-+][0-9]{2}:[0-9]{2})?)?"
)


class StackYamlError(ValueError):
    """A value the CLI cannot hand to a program (it refuses the whole stack file)."""


def _go_int(text: str) -> int | None:
    match = _GO_INT.fullmatch(text)
    if match is None:
        return None
    sign, digits = match.groups()
    prefix = digits[:2].lower()
    base = {"0x": 16, "0b": 2, "0o": 8}.get(prefix)
    if base is not None:
        value = int(digits[2:], base)
    elif digits.startswith("0") and len(digits) > 1:
        value = int(digits[1:], 8)  # 0777: octal, as Go's base 0 reads it
    else:
        value = int(digits)
    value = -value if sign == "-" else value
    return value if value in _INT64 or value in _UINT64 else None


def _timestamp(text: str) -> str | None:
    """yaml.v3's timestamp as Pulumi writes it (Go's ``time.Time.String``), or None when it is not one."""
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        return None
    parts = match.groupdict()
    # A zone goes with T (or t) and only with it; a space-separated time has none.
    if parts["h"] is not None and (parts["sep"] is None) != (parts["zone"] is None):
        return None
    try:
        when = datetime.datetime(int(parts["y"]), int(parts["mo"]), int(parts["d"]),
                                 int(parts["h"] or 0), int(parts["mi"] or 0), int(parts["s"] or 0))
    except ValueError:
        return None
    fraction = (parts["frac"] or "")[:9].rstrip("0")
    zone = parts["zone"] or "Z"
    offset = "+0000 UTC" if zone in ("Z", "+00:00", "-00:00") else f"{zone.replace(':', '')} {zone.replace(':', '')}"
    return (f"{when.year:04d}-{when.month:02d}-{when.day:02d} {when.hour:02d}:{when.minute:02d}:{when.second:02d}"
            f"{'.' + fraction if fraction else ''} {offset}")


def _resolve(text: str) -> Any:
    """yaml.v3's ``resolve`` for a plain scalar with no tag."""
    if text in _NAMED:
        return _NAMED[text]
    first = text[0]
    if first == ".":
        return float(text) if _DOT_FLOAT.fullmatch(text) else text
    if first not in "+-0123456789":
        return text
    stamp = _timestamp(text)
    if stamp is not None:
        return stamp
    plain = text.replace("_", "")
    number = _go_int(plain)
    if number is not None:
        return number
    if _YAML_STYLE_FLOAT.fullmatch(plain):
        return float(plain)
    return text


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """PyYAML's safe loader (libyaml's where PyYAML has it) with yaml.v3's reading of plain scalars, and yaml.v3's
    refusal of a key given twice in one mapping (a merged ``<<`` key may still be overridden)."""

    yaml_implicit_resolvers: dict = {}

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        # yaml.v3 compares scalar keys by their text, whatever their tag: `1` and `"1"` are the same key.
        seen: dict[str, yaml.Node] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                continue
            if key_node.value in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"mapping key {key_node.value!r} already defined at line "
                                f"{seen[key_node.value].start_mark.line + 1}", key_node.start_mark)
            seen[key_node.value] = key_node
        return super().construct_mapping(node, deep=deep)


_Loader.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"<<"), ["<"])
_Loader.add_implicit_resolver(_PLAIN, re.compile(r".*", re.DOTALL), None)
_Loader.add_constructor(_PLAIN, lambda loader, node: _resolve(loader.construct_scalar(node)))
# Explicit tags Go decodes to text: a !!timestamp as Pulumi writes a time, !!binary as its bytes.
_Loader.add_constructor("tag:yaml.org,2002:timestamp",
                        lambda loader, node: _timestamp(loader.construct_scalar(node)) or loader.construct_scalar(node))
_Loader.add_constructor("tag:yaml.org,2002:binary",
                        lambda loader, node: yaml.SafeLoader.construct_yaml_binary(loader, node).decode("utf-8", "replace"))


def _check_aliasing(root: yaml.Node) -> None:
    """yaml.v3's refusal of a document whose aliases expand it out of proportion (``decode.go``, "excessive
    aliasing"): a few anchors are fine, a billion laughs is not. Counted on the whole document, not as it decodes."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:  # nodes in the subtree with every alias expanded
        if id(node) not in sizes:
            sizes[id(node)] = 1 + sum(size(child) for child in _children(node))
        return sizes[id(node)]

    seen: set[int] = set()
    aliased = 0
    stack = [root]
    while stack:
        node = stack.pop()
        seen.add(id(node))
        for child in _children(node):
            if id(child) in seen:
                aliased += size(child)
            else:
                stack.append(child)
    decoded = size(root)
    allowed = 0.99 if decoded <= 400_000 else 0.10 if decoded >= 4_000_000 else \
        0.99 - 0.89 * (decoded - 400_000) / 3_600_000
    if aliased > 100 and decoded > 1000 and aliased / decoded > allowed:
        raise yaml.YAMLError("document contains excessive aliasing")


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def load(text: str) -> Any:
    """A YAML document as the CLI's yaml.v3 reads it (timestamps already as the text Pulumi makes of them)."""
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        _check_aliasing(root)
        return loader.construct_document(root)
    except RecursionError:
        raise yaml.YAMLError("document nested too deeply") from None
    finally:
        loader.dispose()


def _go_float(value: float) -> str:
    """Go's ``encoding/json`` text of a float: shortest digits, 'f' form unless tiny or huge, ``e-7`` not ``e-07``."""
    if math.isinf(value) or math.isnan(value):
        raise StackYamlError(f"json: unsupported value: {'NaN' if math.isnan(value) else '+Inf' if value > 0 else '-Inf'}")
    if value == 0:
        return "0"
    sign, digits, exponent = Decimal(repr(value)).as_tuple()
    text = "".join(map(str, digits)).rstrip("0")
    exponent += len(digits) - len(text)
    point = len(text) + int(exponent)  # where the decimal point goes among the digits
    if abs(value) < 1e-6 or abs(value) >= 1e21:
        power = point - 1
        body = text[0] + ("." + text[1:] if len(text) > 1 else "") + "e" + ("-" if power < 0 else "+")
        body += str(abs(power)) if -10 < power < 0 else f"{abs(power):02d}"
    elif point <= 0:
        body = "0." + "0" * -point + text
    elif point >= len(text):
        body = text + "0" * (point - len(text))
    else:
        body = text[:point] + "." + text[point:]
    return ("-" if sign else "") + body


def _json(value: Any) -> str:
    """Go's ``json.Marshal`` of a decoded value: compact, keys sorted, ``<>&`` escaped, Go's float text."""
    if isinstance(value, dict):
        # Keys that print alike (1 and 1.0) are one key to Pulumi, as in Go's map[string]any.
        entries = {_key(k): v for k, v in value.items()}
        return "{" + ",".join(f"{_json(k)}:{_json(entries[k])}" for k in sorted(entries)) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_json(item) for item in value) + "]"
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                             ("\u2029", "\\u2029")):
            text = text.replace(char, escape)
        return text
    if value is None or isinstance(value, (bool, int)):
        return json.dumps(value)
    raise StackYamlError(f"json: unsupported type: {type(value).__name__}")


def _key(key: Any) -> str:
    """A mapping key as Pulumi keeps it (``fmt.Sprintf("%v", k)`` for a key that is not a string)."""
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, float):
        return _go_float(key)
    return "<nil>" if key is None else str(key)


def config_text(value: Any) -> str:
    """The text a program gets for a config value the CLI read as ``value`` (``object.MarshalString``).

    A key left empty (null) reaches the program as the empty string, as the CLI's warning about it says.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return _json(value)


def is_object(value: Any) -> bool:
    """Whether the CLI keeps ``value`` as an object (JSON text) rather than a plain value."""
    return isinstance(value, (dict, list))
