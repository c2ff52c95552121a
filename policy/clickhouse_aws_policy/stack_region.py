"""Which region a stack deploys to, where a resource lands, and the regions that strings name.

The stack region is the region of the stack's default AWS provider (``aws:region``); where neither is known, the
policy config's ``allowedRegions``. A region that cannot be determined is a violation, never a pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Optional

from pulumi_policy import PolicyConfigSchema

from .framework import Check, Resource, stack_config
from .values import is_unknown

REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d+$")
# Inside longer text only the real direction words, so that "my-lb-123" in a host name is not taken for a region.
_REGION = r"[a-z]{2}(?:-gov|-iso[a-z]?)?-(?:north|south|east|west|central)(?:east|west)?-\d+"
# Where strings name a region: ARNs (arn:<partition>:<service>:<region>:...), AWS hostnames
# (sqs.eu-west-1.amazonaws.com, my-lb-1.eu-west-1.elb.amazonaws.com) and endpoint service names
# (com.amazonaws.eu-west-1.s3, com.amazonaws.vpce.eu-west-1.vpce-svc-...).
_NAMED_REGION = [
    ("ARN", re.compile(rf"arn:aws[a-z-]*:(?P<what>[a-z0-9-]+):(?P<region>{_REGION}):")),
    ("host name", re.compile(rf"(?P<what>[a-z0-9.-]*?)\.?(?P<region>{_REGION})\.(?:[a-z0-9-]+\.)*amazonaws\.com"
                             r"(?:\.cn)?\b")),
    ("service name", re.compile(rf"com\.amazonaws\.(?:vpce\.)?(?P<region>{_REGION})\.(?P<what>[a-z0-9.-]+)")),
]

REGION_SCHEMA = PolicyConfigSchema(properties={
    "allowedRegions": {
        "type": "array",
        "items": {"type": "string", "pattern": REGION_RE.pattern},
        "description": "Regions stacks may deploy to; the stack region when aws:region is not set.",
        "default": [],
    },
})


def named_regions(text: str) -> Iterator[tuple[str, str]]:
    """(region, what names it) for every region an ARN, AWS host name or endpoint service name in ``text`` names."""
    for kind, pattern in _NAMED_REGION:
        for match in pattern.finditer(text):
            what = match.group("what").strip(".")
            yield match.group("region"), f"{what} {kind}" if what and kind == "ARN" else kind


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
