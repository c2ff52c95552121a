"""The whole stack's configuration: every key read and checked at once, then the network checked against AWS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Collection, Mapping, Optional

import pulumi

from stack_config.byoc import ByocConfig, adopted_vpc_problems, bootstrap_account_problems, read_byoc
from stack_config.clickhouse import ClickHouseConfig, read_clickhouse
from stack_config.keys import PROJECT, ConfigReader, Problems
from stack_config.network import FoundNetwork, NetworkConfig, NetworkLayout, network_layout, read_network
from stack_config.observability import ObservabilityConfig, read_observability
from stack_config.secret import SecretConfig, read_secret


@dataclass(frozen=True)
class StackConfig:
    project: str
    stack: str
    aws_region: str
    protect: bool
    tags: Mapping[str, str]
    network: NetworkConfig
    clickhouse: ClickHouseConfig
    secret: SecretConfig
    # None unless byocEnabled is true.
    byoc: Optional[ByocConfig] = None
    observability: Optional[ObservabilityConfig] = None


# Tags the program sets itself: an extra tag may not replace them. ClickHouse's BYOC management role may change
# whatever carries clickhouse-byoc, so that one must never come from a stack file; the metrics agent may write to the
# workspace carrying metrics-workspace.
PROGRAM_TAG_KEYS = ("project", "stack", "managed-by", "Name", "tier", "clickhouse-byoc", "kubernetes.io/role/internal-elb",
                    "metrics-workspace")


def load(stack: Optional[str] = None, config: Optional[Mapping[str, Any]] = None,
         secret_keys: Collection[str] = ()) -> StackConfig:
    """Read and check the whole stack configuration, raising ``ConfigError`` listing every problem found.

    ``config`` maps full key names to the strings the CLI would pass and ``secret_keys`` names those set as secrets;
    without ``config`` the Pulumi runtime's config is read.
    """
    stack = stack or pulumi.get_stack()
    r = ConfigReader(config, secret_keys=secret_keys)
    r.check_keys()
    aws_region, protect = r.get("aws:region"), r.get("protect")
    network = read_network(r)
    tags = {"project": PROJECT, "stack": stack, "managed-by": "pulumi", **_tags(r)}
    clickhouse, secret = read_clickhouse(r, stack, aws_region), read_secret(r)
    byoc = read_byoc(r, stack, aws_region, network, protect)
    cfg = StackConfig(
        project=PROJECT,
        stack=stack,
        aws_region=aws_region,
        protect=protect,
        tags=tags,
        network=network,
        clickhouse=clickhouse,
        secret=secret,
        byoc=byoc,
        observability=read_observability(r, network, byoc),
    )
    r.raise_if_any()
    return cfg


def _tags(r: ConfigReader) -> dict[str, str]:
    """The extra tags, each one AWS accepts on every resource (keys 1-128 characters and not aws:, values at most 256)."""
    tags = r.get("tags")
    for key, value in tags.items():
        shown = key if len(key) <= 40 else f"{key[:40]}... ({len(key)} characters)"
        r.check(0 < len(key) <= 128 and not key.lower().startswith("aws:"), "tags",
                f"tag key {shown!r} is not one AWS accepts: 1-128 characters, not starting with aws: (reserved for AWS)")
        r.check(len(value) <= 256, "tags", f"the value of tag {shown!r} is {len(value)} characters; AWS accepts at most 256")
        r.check(key not in PROGRAM_TAG_KEYS, "tags",
                f"tag key {shown!r} is one the program sets itself ({', '.join(PROGRAM_TAG_KEYS)}); choose another key")
    return tags


def resolve_layout(cfg: StackConfig, found: FoundNetwork) -> NetworkLayout:
    """Check what AWS reports about the network against the config, raising ``ConfigError`` listing every problem.

    Runs after ``load`` (the lookups need a valid config) and before any resource is declared.
    """
    p = Problems(cfg.project)
    layout = network_layout(p, cfg.network, cfg.aws_region, found)
    if cfg.byoc and not cfg.network.creates_vpc:
        adopted_vpc_problems(p, cfg.network, cfg.byoc, found, layout)
    p.raise_if_any()
    return layout


def check_account(cfg: StackConfig, account_id: str, partition: str) -> None:
    """Check the config against the account the credentials reach, raising ``ConfigError``; before any resource."""
    p = Problems(cfg.project)
    if cfg.byoc:
        bootstrap_account_problems(p, cfg.byoc, account_id, partition)
    p.raise_if_any()
