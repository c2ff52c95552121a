"""Fixtures of the BYOC component tests: the byoc stack under mocks that answer what BYOC looks up.

Runs are cached per (stack, overrides, mock options) for the session: the program is deterministic under the mocks,
so every module shares one "byoc in phase 1", one "byoc in phase 3" (both with Pod Identity, the default), one of each
with IRSA and one "custom" run. Tests only read them, and
take what they compare against from the run's own config where they can.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

import pytest

from scripts.offline.analyzer import Analyzer, analyzer_env
from scripts.offline.engine import OfflineMocks, ProgramRun, RecordedResource, load_stack_config, project_name, run_program
from scripts.preview import GateResult, gate

NS = "clickhouse-aws"


@dataclass(frozen=True)
class Lookups:
    """What the mocks answer to BYOC's lookups: an adopted VPC of three subnets in three zones, each with its own route
    table (or only the VPC's main table), the S3 prefix list, and the region's NLB zone."""

    region: str = "us-east-1"
    vpc: str = "vpc-0a1b2c3d4e5f60718"
    subnets: tuple[str, ...] = ("subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2", "subnet-0ccccccccccccccc3")
    main_route_table: str = "rtb-0ffffffffffffff00"
    s3_prefix_list: str = "pl-63a5400a"
    nlb_zone_id: str = "Z0LOOKEDUPNLB"
    adopted: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        # An adopted VPC's routing is its owner's: its way out is acknowledged rather than made here, and the metrics
        # agent, which needs one the stack makes, is off.
        object.__setattr__(self, "adopted", {f"{NS}:vpcId": self.vpc, f"{NS}:subnetIds": list(self.subnets),
                                             f"{NS}:egress": "none", f"{NS}:byocEgressNoneAcknowledged": "true",
                                             f"{NS}:metricsEnabled": "false"})

    @staticmethod
    def route_table_of(subnet_id: str) -> str:
        """The explicitly associated route table of an adopted subnet."""
        return "rtb-" + subnet_id.removeprefix("subnet-")


LOOKUPS = Lookups()
# What ClickHouse sends back once EKS and the NLB exist (phase 3).
PHASE3 = {
    f"{NS}:byocNlbDnsName": "a1b2c3-clickhouse-0123456789abcdef.elb.us-east-1.amazonaws.com",
    f"{NS}:byocNlbZoneId": "Z26RNL4JYFTOTI",
    f"{NS}:byocControlPlaneSecurityGroupId": "sg-0c0ffee0c0ffee000",
}
IRSA = {f"{NS}:byocPodAccess": "irsa"}
# With IRSA, ClickHouse also sends the cluster's OIDC issuer.
IRSA_PHASE3 = {**IRSA, **PHASE3,
               f"{NS}:byocOidcIssuerUrl": "https://oidc.eks.us-east-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"}
# Every BYOC setting away from the byoc stack's values (phase 3 with IRSA, the NLB zone left to the lookup): each module
# checks its own settings in this one run.
CUSTOM = {
    **{k: v for k, v in IRSA_PHASE3.items() if k != f"{NS}:byocNlbZoneId"},
    f"{NS}:byocIncludeIamWritePermissions": False,
    f"{NS}:byocNamespace": "ch-prod",
    f"{NS}:byocServiceAccount": "ch-server",
    f"{NS}:byocInterfaceEndpoints": ["ecr.api", "ecr.dkr", "sts", "ssm"],
    f"{NS}:byocApplicationSecurityGroupIds": ["sg-0aaaaaaaaaaaaaaaa", "sg-0bbbbbbbbbbbbbbbb"],
    f"{NS}:byocApplicationCidrs": [],
    f"{NS}:byocBucketPrefix": "acme-ch",
    f"{NS}:byocBackupRetentionDays": 35,
    f"{NS}:byocLogsRetentionDays": 400,
    f"{NS}:byocQueryLogRetentionDays": 731,
    f"{NS}:byocErrorLogRetentionDays": 545,
    f"{NS}:byocEksLogRetentionDays": 400,
    f"{NS}:byocEksClusterName": "clickhouse-cloud-acme-prod",
    f"{NS}:byocInternalDomain": "ch.corp.example.com.",
}


class ByocMocks(OfflineMocks):
    """The offline mocks plus what BYOC reads, as ``LOOKUPS`` describes; adopted subnets of a configurable size, an
    adopted VPC with DNS hostnames on or off, and route tables "explicit", "main" only, or "none" found."""

    def __init__(self, subnet_prefix: int = 20, route_tables: str = "explicit", vpc_dns: bool = True):
        super().__init__(LOOKUPS.region)
        self.subnet_prefix = subnet_prefix
        self.route_tables = route_tables
        self.vpc_dns = vpc_dns

    def call(self, args):
        token, a = args.token, args.args
        if token == "aws:ec2/getSubnet:getSubnet" and a["id"] in LOOKUPS.subnets:
            index = LOOKUPS.subnets.index(a["id"])
            return {"id": a["id"], "vpcId": LOOKUPS.vpc, "availabilityZone": f"{self.region}{'abc'[index]}",
                    "mapPublicIpOnLaunch": False, "cidrBlock": f"10.90.{index * 16}.0/{self.subnet_prefix}"}
        if token == "aws:ec2/getVpc:getVpc" and a["id"] == LOOKUPS.vpc:
            return {**super().call(args), "enableDnsHostnames": self.vpc_dns}
        if token == "aws:ec2/getRouteTables:getRouteTables":
            (flt,) = a["filters"]
            if flt["name"] == "association.subnet-id":
                explicit = self.route_tables == "explicit"
                return {"ids": [LOOKUPS.route_table_of(flt["values"][0])] if explicit else []}
            return {"ids": [LOOKUPS.main_route_table] if self.route_tables == "main" else []}
        if token == "aws:lb/getHostedZoneId:getHostedZoneId":
            return {"id": LOOKUPS.nlb_zone_id, "loadBalancerType": a.get("loadBalancerType")}
        return super().call(args)

    def resource_outputs(self, typ, name, inputs):
        resource_id, outputs = super().resource_outputs(typ, name, inputs)
        if typ == "aws:ec2/vpcEndpoint:VpcEndpoint" and inputs.get("vpcEndpointType") == "Gateway":
            outputs["prefixListId"] = LOOKUPS.s3_prefix_list
        return resource_id, outputs


ByocRun = Callable[..., ProgramRun]


@pytest.fixture(scope="session")
def lookups() -> Lookups:
    return LOOKUPS


@pytest.fixture(scope="session")
def named_overrides() -> dict[str, dict[str, str]]:
    """The config overrides of each named run: both pod access modes, before and after phase 3, and an agreed cluster."""
    return {"phase1": {}, "phase3": dict(PHASE3), "irsa_phase1": dict(IRSA), "irsa_phase3": dict(IRSA_PHASE3),
            "agreed_cluster": {**PHASE3, f"{NS}:byocEksClusterName": "clickhouse-cloud-acme"}}


@pytest.fixture(scope="session")
def byoc_run() -> ByocRun:
    """``byoc_run(stack="byoc", overrides=None, **mock_options)``: the program's run under ByocMocks, cached."""
    runs: dict[tuple, ProgramRun] = {}

    def run(stack: str = "byoc", overrides: Optional[Mapping[str, Any]] = None, **mock_options: Any) -> ProgramRun:
        key = (stack, tuple(sorted((k, repr(v)) for k, v in (overrides or {}).items())), tuple(sorted(mock_options.items())))
        if key not in runs:
            runs[key] = run_program(stack, overrides, mocks=ByocMocks(**mock_options))
        return runs[key]

    return run


@pytest.fixture
def fresh_byoc_run() -> ByocRun:
    """An uncached run, for tests that watch what the program logs while it runs."""
    return lambda stack="byoc", overrides=None: run_program(stack, overrides, mocks=ByocMocks())


@pytest.fixture(scope="session")
def phase1(byoc_run: ByocRun) -> ProgramRun:
    """byoc as committed: BYOC before ClickHouse has replied."""
    return byoc_run()


@pytest.fixture(scope="session")
def phase3(byoc_run: ByocRun) -> ProgramRun:
    return byoc_run("byoc", PHASE3)


@pytest.fixture(scope="session")
def irsa_phase1(byoc_run: ByocRun) -> ProgramRun:
    """byoc with IRSA, before ClickHouse has sent the cluster's issuer."""
    return byoc_run("byoc", IRSA)


@pytest.fixture(scope="session")
def irsa_phase3(byoc_run: ByocRun) -> ProgramRun:
    return byoc_run("byoc", IRSA_PHASE3)


@pytest.fixture(scope="session")
def custom(byoc_run: ByocRun) -> ProgramRun:
    return byoc_run("byoc", CUSTOM)


@pytest.fixture
def byoc_error(byoc_run: ByocRun) -> Callable[..., str]:
    """``byoc_error(overrides, stack="byoc", **mock_options)``: the config error the overrides cause."""

    def error(overrides: Mapping[str, Any], stack: str = "byoc", **mock_options: Any) -> str:
        result = byoc_run(stack, overrides, **mock_options)
        assert result.error, f"expected a configuration error for {overrides}"
        assert not result.resources, "no resource may be declared when the configuration is invalid"
        return result.error

    return error


@pytest.fixture(scope="session")
def children() -> Callable[..., list[RecordedResource]]:
    """``children(run, component_type, type_=None)``: every resource under the one component of that type (any
    depth), optionally only those of ``type_``."""

    def below(result: ProgramRun, component_type: str, type_: Optional[str] = None) -> list[RecordedResource]:
        (component,) = [r for r in result.resources if r.type == component_type]
        found, frontier = [], {component.urn}
        while frontier:
            level = [r for r in result.resources if r.parent in frontier]
            found += level
            frontier = {r.urn for r in level}
        return [r for r in found if type_ is None or r.type == type_]

    return below


@pytest.fixture(scope="session")
def child(children) -> Callable[..., RecordedResource]:
    """``child(run, component_type, type_, name)``: the one resource of that type and name under the component."""

    def find(result: ProgramRun, component_type: str, type_: str, name: str) -> RecordedResource:
        found = [r for r in children(result, component_type, type_) if r.name == name]
        assert len(found) == 1, f"expected one {type_} named {name}, found {len(found)}"
        return found[0]

    return find


@pytest.fixture(scope="session")
def document() -> Callable[..., dict[str, Any]]:
    """``document(resource, field="policy")``: a policy document input, parsed."""
    return lambda resource, field="policy": json.loads(resource.inputs[field])


@pytest.fixture(scope="session")
def statement() -> Callable[[Mapping[str, Any], str], dict[str, Any]]:
    """``statement(document, sid)``: the one statement of a policy document with that Sid."""

    def find(policy: Mapping[str, Any], sid: str) -> dict[str, Any]:
        (found,) = [s for s in policy["Statement"] if s.get("Sid") == sid]
        return found

    return find


@pytest.fixture(scope="session")
def analyzer():
    """The policy pack as the CLI starts it for the byoc stack (its config and secret keys), for ``preview.gate``;
    one per worker, as a pack keeps nothing between the runs it judges."""
    config, secret_keys = load_stack_config("byoc")
    with Analyzer(analyzer_env(project_name(), "byoc", config, secret_keys)) as pack:
        yield pack


@pytest.fixture(scope="session")
def gated(analyzer, named_overrides) -> Callable[[str], GateResult]:
    """``gated(name)``: the gate's verdict on the byoc stack with a named run's overrides, judged once (tests only
    read it)."""
    results: dict[str, GateResult] = {}

    def judge(name: str) -> GateResult:
        if name not in results:
            results[name] = gate("byoc", named_overrides[name], analyzer=analyzer)
        return results[name]

    return judge
