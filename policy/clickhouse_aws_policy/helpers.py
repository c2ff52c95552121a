"""Shared plumbing for the policy modules: unknown-aware property access, policy constructors, IAM documents, regions.

Every validator works on plain dicts and lists in which a value the engine does not know yet (during preview) is the
``UNKNOWN`` marker. The SDK hands policies proxies that raise on unknowns and turns that into an *advisory*
"can't run policy during preview" note, which would let a mandatory policy pass silently; converting up front lets
each policy decide, and the security-relevant ones report an unknown as a violation that says so.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Optional

import pulumi.runtime
from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError


class _Unknown:
    """A value the engine will only know after the update (a preview placeholder)."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN = _Unknown()


def is_unknown(value: Any) -> bool:
    return value is UNKNOWN


def plain(value: Any) -> Any:
    """Copy ``value`` (an SDK proxy, a dict or a list) into plain containers, replacing unknowns with ``UNKNOWN``."""
    if isinstance(value, Mapping):
        result = {}
        for key in value:
            try:
                result[key] = plain(value[key])
            except UnknownValueError:
                result[key] = UNKNOWN
        return result
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        items = []
        for index in range(len(value)):
            try:
                items.append(plain(value[index]))
            except UnknownValueError:
                items.append(UNKNOWN)
        return items
    return value


def dig(value: Any, *path: str) -> Any:
    """``value[p0][p1]...``: None where a key is absent, ``UNKNOWN`` as soon as an unknown is met on the way."""
    for key in path:
        if is_unknown(value):
            return UNKNOWN
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def as_list(value: Any) -> list[Any]:
    """A property that may be one item, a list of items, or absent, as a list (``[UNKNOWN]`` if unknown)."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def stack_config(key: str) -> Any:
    """A stack config value (``aws:region``) from the environment the CLI starts the pack with, or None."""
    return pulumi.runtime.get_config(key)


# --- policy constructors --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    """The part of a resource the validators read, with plain properties."""

    type: str
    urn: str
    name: str
    props: dict[str, Any]
    provider_type: str = ""
    provider_name: str = ""
    provider_props: dict[str, Any] = field(default_factory=dict)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Check:
    """What a resource validator gets: the resource, this policy's config and a report callback."""

    resource: Resource
    config: Mapping[str, Any]
    report: Callable[[str], None]

    @property
    def props(self) -> dict[str, Any]:
        return self.resource.props


@dataclass(frozen=True)
class StackCheck:
    """What a stack validator gets: every resource, this policy's config and a report callback taking a URN."""

    resources: list[Resource]
    config: Mapping[str, Any]
    report: Callable[[str, Optional[str]], None]

    def of_types(self, types: Iterable[str]) -> list[Resource]:
        wanted = set(types)
        return [r for r in self.resources if r.type in wanted]


def _provider_view(provider: Any) -> tuple[str, str, dict[str, Any]]:
    if provider is None:
        return "", "", {}
    return provider.resource_type, provider.name, plain(provider.props)


def resource_policy(
    name: str,
    description: str,
    severity: Severity,
    validate: Callable[[Check], None],
    *,
    types: Optional[Iterable[str]] = None,
    advisory: bool = False,
    config_schema: Optional[PolicyConfigSchema] = None,
) -> ResourceValidationPolicy:
    """A resource policy that only runs ``validate`` for ``types`` (all types when None)."""
    wanted = frozenset(types) if types is not None else None

    def run(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if wanted is not None and args.resource_type not in wanted:
            return
        provider_type, provider_name, provider_props = _provider_view(args.provider)
        resource = Resource(args.resource_type, args.urn, args.name, plain(args.props),
                            provider_type, provider_name, provider_props)
        validate(Check(resource, args.get_config(), lambda message: report_violation(message, None)))

    return ResourceValidationPolicy(
        name=name,
        description=description,
        validate=run,
        enforcement_level=EnforcementLevel.ADVISORY if advisory else EnforcementLevel.MANDATORY,
        config_schema=config_schema,
        severity=severity,
    )


def stack_policy(
    name: str,
    description: str,
    severity: Severity,
    validate: Callable[[StackCheck], None],
    *,
    advisory: bool = False,
    config_schema: Optional[PolicyConfigSchema] = None,
) -> StackValidationPolicy:
    """A stack policy over plain views of every resource."""

    def run(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = []
        for r in args.resources:
            provider_type, provider_name, provider_props = _provider_view(r.provider)
            deps = {key: [d.urn for d in value] for key, value in r.property_dependencies.items()}
            resources.append(Resource(r.resource_type, r.urn, r.name, plain(r.props),
                                      provider_type, provider_name, provider_props, deps))
        validate(StackCheck(resources, args.get_config(), report_violation))

    return StackValidationPolicy(
        name=name,
        description=description,
        validate=run,
        enforcement_level=EnforcementLevel.ADVISORY if advisory else EnforcementLevel.MANDATORY,
        config_schema=config_schema,
        severity=severity,
    )


# --- pairing resources in a stack -----------------------------------------------------------------------------


def referenced(source: Resource, prop: str, candidates: Sequence[Resource], *id_props: str) -> list[Resource]:
    """The candidates ``source.props[prop]`` points at.

    A reference to a resource of the same program is recorded as a property dependency even while its value is
    unknown (the usual case at preview), so that decides first; a literal value matches a candidate's ``id`` or one
    of ``id_props`` (for example a bucket's name).
    """
    deps = set(source.property_dependencies.get(prop, ()))
    value = source.props.get(prop)
    found = []
    for candidate in candidates:
        if candidate.urn in deps:
            found.append(candidate)
        elif isinstance(value, str) and value and any(
            candidate.props.get(key) == value for key in ("id", *id_props)
        ):
            found.append(candidate)
    return found


# --- addresses ------------------------------------------------------------------------------------------------


def is_all_addresses(cidr: Any) -> bool:
    """True for 0.0.0.0/0, ::/0 and their spellings (any prefix of length 0)."""
    if not isinstance(cidr, str):
        return False
    try:
        return ipaddress.ip_network(cidr.strip(), strict=False).prefixlen == 0
    except ValueError:
        return False


# --- IAM / KMS / S3 policy documents ---------------------------------------------------------------------------


class DocumentError(ValueError):
    """A policy document that is not JSON or not shaped like one."""


def parse_document(value: Any) -> Any:
    """A policy document (JSON text or an object) as a dict; None if absent, ``UNKNOWN`` if not known yet."""
    if is_unknown(value):
        return UNKNOWN
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as err:
            raise DocumentError(f"is not valid JSON ({err.msg} at position {err.pos})") from None
    if not isinstance(value, Mapping):
        raise DocumentError("is not a JSON object")
    return value


def statements(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [s for s in as_list(document.get("Statement")) if isinstance(s, Mapping)]


def allows(statement: Mapping[str, Any]) -> bool:
    return statement.get("Effect") == "Allow"


def principals(statement: Mapping[str, Any]) -> dict[str, list[Any]]:
    """The statement's principals by kind (``AWS``, ``Service``, ``Federated``, ``*``).

    ``NotPrincipal`` on an Allow grants everyone except the listed principals, so it counts as ``*``.
    """
    if "NotPrincipal" in statement and allows(statement):
        return {"*": ["*"]}
    principal = statement.get("Principal")
    if principal is None:
        return {}
    if is_unknown(principal) or isinstance(principal, str):
        return {"*": [principal]}
    if not isinstance(principal, Mapping):
        return {}
    return {kind: as_list(value) for kind, value in principal.items()}


def is_public(statement: Mapping[str, Any]) -> bool:
    """The statement names every principal (``"*"`` or ``{"AWS": "*"}``)."""
    return any(value == "*" for values in principals(statement).values() for value in values)


def actions(statement: Mapping[str, Any]) -> list[Any]:
    """The statement's actions; an Allow with ``NotAction`` is as broad as ``*``."""
    if "NotAction" in statement:
        return ["*"]
    return as_list(statement.get("Action"))


def covers_action(statement: Mapping[str, Any], action: str) -> bool:
    """Whether an action pattern in the statement matches ``action`` (IAM wildcards, case-insensitive)."""
    for pattern in actions(statement):
        if is_unknown(pattern):
            return True
        if isinstance(pattern, str):
            regex = "^" + re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".") + "$"
            if re.match(regex, action, re.IGNORECASE):
                return True
    return False


_POSITIVE_OPERATOR = re.compile(r"^(ForAnyValue:|ForAllValues:)?(StringEquals|StringEqualsIgnoreCase|StringLike|"
                                r"ArnEquals|ArnLike|IpAddress)$")


def condition_values(statement: Mapping[str, Any], key_matches: Callable[[str], bool]) -> list[Any]:
    """Values the statement's Condition requires for matching keys, under operators that narrow (not Not*/IfExists)."""
    found: list[Any] = []
    condition = statement.get("Condition")
    if not isinstance(condition, Mapping):
        return found
    for operator, clauses in condition.items():
        if not _POSITIVE_OPERATOR.match(str(operator)) or not isinstance(clauses, Mapping):
            continue
        for key, value in clauses.items():
            if key_matches(str(key).lower()):
                found.extend(as_list(value))
    return found


def narrows(values: Iterable[Any]) -> bool:
    """At least one required value, none of them a bare wildcard."""
    values = list(values)
    return bool(values) and all(isinstance(v, str) and v.strip() not in ("", "*") for v in values)


# Condition keys that pin who may use a resource-policy grant to an organization, account, principal or network.
RESTRICTIVE_CONDITION_KEYS = frozenset({
    "aws:principalorgid", "aws:principalorgpaths", "aws:principalaccount", "aws:principalarn", "aws:userid",
    "aws:sourceaccount", "aws:sourcearn", "aws:sourceowner", "aws:sourceorgid", "aws:sourceorgpaths",
    "aws:sourcevpc", "aws:sourcevpce", "aws:sourceip", "aws:vpcsourceip",
    "kms:calleraccount", "s3:dataaccesspointaccount", "s3:dataaccesspointarn",
})


def restricted(statement: Mapping[str, Any]) -> bool:
    return narrows(condition_values(statement, RESTRICTIVE_CONDITION_KEYS.__contains__))


def public_grants(document: Mapping[str, Any]) -> list[str]:
    """Descriptions of Allow statements open to every principal without a condition that narrows who."""
    found = []
    for index, statement in enumerate(statements(document)):
        if allows(statement) and is_public(statement) and not restricted(statement):
            found.append(f"statement {statement.get('Sid') or index} allows principal '*'")
    return found


def check_document(
    report: Callable[[str], None], value: Any, judge: Callable[[Mapping[str, Any]], list[str]], what: str
) -> None:
    """Parse the policy document ``value`` and report each finding of ``judge``, or that it is unknown or broken."""
    try:
        document = parse_document(value)
    except DocumentError as err:
        report(f"{what} {err}; it cannot be verified.")
        return
    if is_unknown(document):
        report(f"{what} is unknown until the update, so who it grants access to cannot be verified at preview; "
               "build it from values known at preview (config, account ID, resource names).")
        return
    for finding in judge(document or {}):
        report(f"{what}: {finding}.")


# --- regions ---------------------------------------------------------------------------------------------------

REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d+$")
# ARNs that name a region: arn:<partition>:<service>:<region>:...
ARN_REGION_RE = re.compile(
    r"arn:aws[a-z-]*:(?P<service>[a-z0-9-]+):(?P<region>[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d+):")

REGION_SCHEMA = PolicyConfigSchema(properties={
    "allowedRegions": {
        "type": "array",
        "items": {"type": "string", "pattern": REGION_RE.pattern},
        "description": "Regions stacks may deploy to; the stack region when aws:region is not set.",
        "default": [],
    },
})


def is_default_provider(resource: Resource) -> bool:
    """The CLI names the provider it creates from stack config ``default`` or ``default_<version>``."""
    return resource.provider_name == "default" or resource.provider_name.startswith("default_")


@dataclass(frozen=True)
class StackRegion:
    """Which regions a stack's resources may be in, and where that came from (for messages)."""

    regions: frozenset[str]
    source: str

    @property
    def known(self) -> bool:
        return bool(self.regions)

    def admits(self, region: str) -> bool:
        return region in self.regions

    def __str__(self) -> str:
        return f"{' or '.join(sorted(self.regions))} ({self.source})"


def stack_region(config: Mapping[str, Any], resource: Optional[Resource] = None) -> StackRegion:
    """The stack's region: its default AWS provider's, else ``aws:region``, else the policy's ``allowedRegions``.

    With both a stack region and ``allowedRegions``, the stack region must itself be allowed; otherwise nothing is.
    """
    allowed = frozenset(r for r in config.get("allowedRegions") or () if isinstance(r, str))
    region, source = None, ""
    if resource is not None and resource.provider_type == "pulumi:providers:aws" and is_default_provider(resource):
        region, source = resource.provider_props.get("region"), "the stack's default AWS provider"
    if not isinstance(region, str) or not region:
        region, source = stack_config("aws:region"), "aws:region"
    if isinstance(region, str) and region:
        if allowed and region not in allowed:
            return StackRegion(frozenset(), f"the stack region {region} (from {source}) is not one of allowedRegions "
                                            f"{sorted(allowed)}")
        return StackRegion(frozenset({region}), source)
    if allowed:
        return StackRegion(allowed, "allowedRegions")
    return StackRegion(frozenset(), "the stack region cannot be determined: neither aws:region nor allowedRegions "
                                    "is set")


def region_problem(region: Any, where: str, expected: StackRegion) -> Optional[str]:
    """Why ``region`` (found at ``where``) is not acceptable for the stack, or None if it is."""
    if is_unknown(region):
        return (f"{where} is unknown until the update; a resource in an unverified region is treated as "
                "cross-region.")
    if not isinstance(region, str) or not region:
        return f"{where} is not set, so the region cannot be verified."
    if not expected.known:
        return f"{where} is {region!r}, but {expected.source}."
    if not expected.admits(region):
        return f"{where} is {region!r}; this stack deploys only to {expected}."
    return None


def check_region(check: Check, region: Any, where: str) -> None:
    problem = region_problem(region, where, stack_region(check.config, check.resource))
    if problem:
        check.report(problem)


def effective_region(resource: Resource) -> tuple[Any, str]:
    """The region an AWS resource lands in, and where that comes from: its v7 ``region`` input, else its provider's."""
    region = resource.props.get("region")
    if region is not None:
        return region, "region"
    if resource.provider_type == "pulumi:providers:aws" and not is_default_provider(resource):
        return resource.provider_props.get("region"), f"the region of its provider {resource.provider_name!r}"
    default = resource.provider_props.get("region") if resource.provider_type == "pulumi:providers:aws" else None
    return default or stack_config("aws:region"), "the region of the stack's default AWS provider"


def walk_strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string inside ``value`` with its property path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from walk_strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk_strings(item, f"{path}[{index}]")


# --- S3 buckets and the pulumi-aws 7 resources that configure them ---------------------------------------------

# pulumi-aws 7 registers both spellings; BucketV2 is the older name of the same bucket resource.
S3_BUCKET_TYPES = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")


def bucket_label(bucket: Resource) -> str:
    name = bucket.props.get("bucket")
    return f"bucket {name!r}" if isinstance(name, str) and name else f"bucket resource {bucket.name!r}"


def bucket_settings(check: StackCheck, bucket: Resource, types: Iterable[str]) -> list[Resource]:
    """The stack's resources of ``types`` whose ``bucket`` input is ``bucket``."""
    return [r for r in check.of_types(types) if referenced(r, "bucket", [bucket], "bucket")]
