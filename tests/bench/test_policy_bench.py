"""The policy bench's synthetic stack: the size asked for, every kind of join the pack makes, and compliant, so the
bench measures analysis rather than reporting."""

from __future__ import annotations

from collections import Counter

from bench.policy_bench import UNIT, measure, synthetic_stack
from scripts.offline.analyzer import Analyzer, analyzer_env


def test_synthetic_stack_has_the_size_and_shape_asked_for() -> None:
    resources = synthetic_stack(2000)
    assert len(resources) == 2000 + 1  # and the root stack resource
    types = Counter(r.type for r in resources)
    assert types["aws:ec2/securityGroup:SecurityGroup"] == 2000 // UNIT
    assert all(types[t] for t in ("aws:s3/bucketPolicy:BucketPolicy", "aws:ec2/managedPrefixList:ManagedPrefixList",
                                  "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws:iam/role:Role"))
    assert sum(len(r.propertyDependencies) > 0 for r in resources) >= 9 * (2000 // UNIT)


def test_synthetic_stack_is_compliant_through_the_pack() -> None:
    with Analyzer(analyzer_env("proj", "bench", {"aws:region": "us-east-1"})) as analyzer:
        analyzer.configure({})
        # measure() exits with a message if the pack reports any mandatory violation.
        measure(analyzer, synthetic_stack(3 * UNIT))
