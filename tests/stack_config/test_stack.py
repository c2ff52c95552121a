"""The whole configuration through the program: every committed stack loads, and a bad one stops it before any
resource is declared, with one plain message per problem."""

from __future__ import annotations

import pytest

from scripts.offline.engine import REPO
from tests.helpers import config_error

STACKS = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in REPO.glob("Pulumi.*.yaml"))


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_file_loads(load, stack):
    cfg = load(stack=stack)
    assert cfg.stack == stack and cfg.tags["stack"] == stack


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"aws:region": "us-eastt-1"}, "aws:region: 'us-eastt-1' is not an AWS region the AWS provider knows"),
    ({"vpcCidr": "10.41.0.0/33"}, "clickhouse-aws:vpcCidr: '10.41.0.0/33' is not a valid IPv4 CIDR"),
    ({"vpcCird": "10.41.0.0/16"}, "clickhouse-aws:vpcCird: unknown key; did you mean 'vpcCidr'?"),
])
def test_a_bad_config_stops_the_program_before_any_resource(overrides, expected):
    message = config_error("dev", overrides)  # asserts that nothing was declared
    lines = message.splitlines()
    assert lines[0] == "Invalid configuration for this stack:"
    assert len(lines) == 2 and lines[1].startswith(f"  - {expected}")


@pytest.mark.parametrize(("tags", "expected"), [
    ({"aws:team": "data"}, "tag key 'aws:team' is not one AWS accepts: 1-128 characters, not starting with aws:"),
    ({"": "data"}, "tag key '' is not one AWS accepts"),
    ({"k" * 129: "data"}, f"tag key '{'k' * 40}... (129 characters)' is not one AWS accepts"),
    ({"team": "x" * 257}, "the value of tag 'team' is 257 characters; AWS accepts at most 256"),
])
def test_extra_tags_must_be_ones_aws_accepts(problem, tags, expected):
    assert problem("tags", {"tags": tags}).startswith(expected)


def test_extra_tags_join_the_stacks_own(load):
    assert load({"tags": {"team": "data"}}).tags == {
        "project": "clickhouse-aws", "stack": "dev", "managed-by": "pulumi", "team": "data"}
