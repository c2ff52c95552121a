"""How the policy modules talk to pulumi-policy: plain resource views, policy constructors, a stack index.

Every validator works on plain dicts and lists (``values.plain``) in which a value the engine does not know yet is
``UNKNOWN``. Stack validators get the whole graph with an index, so joining resources (a rule to its security group,
a setting to its bucket) costs one dictionary lookup, and AnalyzeStack stays linear in the number of resources.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Optional

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

from .evaluation.iam_documents import DocumentError, parse
from .values import is_unknown, plain


def stack_config(key: str) -> Any:
    """A stack config value (``aws:region``) from the environment the CLI starts the pack with, or None."""
    return pulumi.runtime.get_config(key)


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
    # Outputs the program asked to keep secret in state (a resource option): what the pack can see of secretness, as
    # pulumi-policy unwraps secret inputs before a validator runs.
    additional_secret_outputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Check:
    """What a resource validator gets: the resource, this policy's config and a report callback."""

    resource: Resource
    config: Mapping[str, Any]
    report: Callable[[str], None]

    @property
    def props(self) -> dict[str, Any]:
        return self.resource.props


class StackCheck:
    """What a stack validator gets: every resource, this policy's config, a report callback taking a URN, and
    lookups by type, URN and property value built once per call."""

    def __init__(self, resources: list[Resource], config: Mapping[str, Any],
                 report: Callable[[str, Optional[str]], None]):
        self.resources = resources
        self.config = config
        self.report = report
        self._by_urn = {r.urn: r for r in resources}
        self._by_type: dict[str, list[Resource]] = defaultdict(list)
        for r in resources:
            self._by_type[r.type].append(r)
        self._by_value: dict[tuple[tuple[str, ...], str], dict[str, list[Resource]]] = {}
        self._referrers: dict[tuple, dict[str, list[Resource]]] = {}

    def of_types(self, types: Iterable[str]) -> list[Resource]:
        return [r for t in dict.fromkeys(types) for r in self._by_type.get(t, ())]

    def _value_index(self, types: tuple[str, ...], key: str) -> dict[str, list[Resource]]:
        index = self._by_value.get((types, key))
        if index is None:
            index = defaultdict(list)
            for r in self.of_types(types):
                value = r.props.get(key)
                if isinstance(value, str) and value:
                    index[value].append(r)
            self._by_value[(types, key)] = index
        return index

    def of_urns(self, urns: Iterable[str], types: Iterable[str]) -> list[Resource]:
        wanted = set(types)
        return [self._by_urn[u] for u in urns if u in self._by_urn and self._by_urn[u].type in wanted]

    def lookup(self, types: Iterable[str], value: str, *id_props: str) -> list[Resource]:
        """The resources of ``types`` whose ``id`` (or one of ``id_props``) is ``value``."""
        wanted = tuple(dict.fromkeys(types))
        found: dict[str, Resource] = {}
        for key in ("id", *id_props):
            for candidate in self._value_index(wanted, key).get(value, ()):
                found.setdefault(candidate.urn, candidate)
        return list(found.values())

    def targets(self, source: Resource, prop: str, types: Iterable[str], *id_props: str) -> list[Resource]:
        """The resources of ``types`` that ``source.props[prop]`` (one value or a list) points at.

        A reference to a resource of the same program is recorded as a property dependency even while its value is
        unknown (the usual case at preview), so that decides first; a literal value matches a candidate's ``id`` or
        one of ``id_props`` (for example a bucket's name).
        """
        found = {r.urn: r for r in self.of_urns(source.property_dependencies.get(prop, ()), types)}
        value = source.props.get(prop)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and item:
                for candidate in self.lookup(types, item, *id_props):
                    found.setdefault(candidate.urn, candidate)
        return list(found.values())

    def referrers(self, target: Resource, prop: str, types: Iterable[str], target_types: Iterable[str],
                  *id_props: str) -> list[Resource]:
        """The resources of ``types`` whose ``prop`` points at ``target`` (the inverse of ``targets``)."""
        key = (tuple(types), prop, tuple(target_types), id_props)
        index = self._referrers.get(key)
        if index is None:
            index = defaultdict(list)
            for source in self.of_types(key[0]):
                for found in self.targets(source, prop, key[2], *id_props):
                    index[found.urn].append(source)
            self._referrers[key] = index
        return index.get(target.urn, [])


def _provider_view(provider: Any) -> tuple[str, str, dict[str, Any]]:
    if provider is None:
        return "", "", {}
    return provider.resource_type, provider.name, plain(provider.props)


def _secret_outputs(opts: Any) -> tuple[str, ...]:
    return tuple(getattr(opts, "additional_secret_outputs", None) or ())


def _level(advisory: bool) -> EnforcementLevel:
    return EnforcementLevel.ADVISORY if advisory else EnforcementLevel.MANDATORY


def resource_policy(
    name: str,
    description: str,
    severity: Severity,
    validate: Callable[[Check], None],
    *,
    types: Optional[Iterable[str]] = None,
    type_prefixes: Optional[tuple[str, ...]] = None,
    advisory: bool = False,
    config_schema: Optional[PolicyConfigSchema] = None,
) -> ResourceValidationPolicy:
    """A resource policy that only runs ``validate`` for ``types`` or types starting with one of ``type_prefixes``
    (all types when neither is given). The filter runs before the properties are copied, which is most of the cost."""
    wanted = frozenset(types) if types is not None else None

    def applies(resource_type: str) -> bool:
        if wanted is None and type_prefixes is None:
            return True
        return (wanted is not None and resource_type in wanted) or (
            type_prefixes is not None and resource_type.startswith(type_prefixes))

    def run(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if not applies(args.resource_type):
            return
        provider_type, provider_name, provider_props = _provider_view(args.provider)
        resource = Resource(args.resource_type, args.urn, args.name, plain(args.props),
                            provider_type, provider_name, provider_props,
                            additional_secret_outputs=_secret_outputs(args.opts))
        validate(Check(resource, args.get_config(), lambda message: report_violation(message, None)))

    return ResourceValidationPolicy(name=name, description=description, validate=run,
                                    enforcement_level=_level(advisory), config_schema=config_schema,
                                    severity=severity)


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
                                      provider_type, provider_name, provider_props, deps, _secret_outputs(r.opts)))
        validate(StackCheck(resources, args.get_config(), report_violation))

    return StackValidationPolicy(name=name, description=description, validate=run,
                                 enforcement_level=_level(advisory), config_schema=config_schema, severity=severity)


def parse_or_report(report: Callable[[str], None], value: Any, what: str) -> Any:
    """The parsed policy document ``value``; reports (and returns None) when it is broken or not known yet."""
    try:
        document = parse(value)
    except DocumentError as err:
        report(f"{what} {err}; it cannot be verified.")
        return None
    if is_unknown(document):
        report(f"{what} is unknown until the update, so what it allows cannot be verified at preview; build it "
               "from values known at preview (config, account ID, resource names).")
        return None
    return document


def require_flag(check: Check, prop: str, wanted: bool, when_absent: bool, consequence: str) -> None:
    """Report unless ``props[prop]`` is ``wanted``; ``when_absent`` is the value AWS uses if it is not set."""
    value = check.props.get(prop)
    if is_unknown(value):
        check.report(f"{prop} is unknown until the update; {consequence} cannot be ruled out at preview.")
    elif (when_absent if value is None else value) is not wanted:
        shown = f"not set (AWS default {str(when_absent).lower()})" if value is None else str(value).lower()
        check.report(f"{prop} is {shown}: {consequence}. Set it to {str(wanted).lower()}.")
