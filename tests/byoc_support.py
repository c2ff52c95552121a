"""Shared helpers of the BYOC tests (this module holds no tests of its own).

Runs are cached per (stack, overrides): the program is deterministic under the mocks, so every test file that needs
"prod in phase 1" or "prod in phase 3" shares one run. Tests only read the recorded runs.
"""

from __future__ import annotations

import json
from typing import Any, Iterator, Mapping, Optional

from google.protobuf import json_format
from pulumi.runtime import rpc

from scripts.offline.engine import OfflineMocks, ProgramRun, RecordedResource, run_program

NS = "clickhouse-aws"
REGION = "us-east-1"
ISSUER = "https://oidc.eks.us-east-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
ISSUER_HOST = ISSUER.removeprefix("https://")
NLB_DNS = "a1b2c3-clickhouse-0123456789abcdef.elb.us-east-1.amazonaws.com"
NLB_ZONE = "Z26RNL4JYFTOTI"
LOOKED_UP_NLB_ZONE = "Z0LOOKEDUPNLB"
CONTROL_PLANE_SG = "sg-0c0ffee0c0ffee000"
S3_PREFIX_LIST = "pl-63a5400a"
EXTERNAL_ID_PLACEHOLDER = f"offline-placeholder-{NS}.byocExternalId"
# What ClickHouse sends back once EKS and the NLB exist (phase 3).
PHASE3 = {
    f"{NS}:byocOidcIssuerUrl": ISSUER,
    f"{NS}:byocNlbDnsName": NLB_DNS,
    f"{NS}:byocNlbZoneId": NLB_ZONE,
    f"{NS}:byocControlPlaneSecurityGroupId": CONTROL_PLANE_SG,
}
APP_SECURITY_GROUPS = ["sg-0aaaaaaaaaaaaaaaa", "sg-0bbbbbbbbbbbbbbbb"]
# One run with every BYOC setting away from prod's values (phase 3, NLB zone left to the lookup): each component's
# test file checks its own settings in it, so the suite needs one program run for all of them.
CUSTOM = {
    **{k: v for k, v in PHASE3.items() if k != f"{NS}:byocNlbZoneId"},
    f"{NS}:byocManagementRoleName": "AcmeClickHouseManagement",
    f"{NS}:byocNamespace": "ch-prod",
    f"{NS}:byocServiceAccount": "ch-server",
    f"{NS}:byocInterfaceEndpoints": ["ecr.api", "ecr.dkr", "sts", "ssm"],
    f"{NS}:byocApplicationSecurityGroupIds": APP_SECURITY_GROUPS,
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
ADOPTED_VPC = "vpc-0a1b2c3d4e5f60718"
ADOPTED_SUBNETS = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2", "subnet-0ccccccccccccccc3"]
MAIN_ROUTE_TABLE = "rtb-0ffffffffffffff00"
ADOPTED = {f"{NS}:vpcId": ADOPTED_VPC, f"{NS}:subnetIds": ADOPTED_SUBNETS}


def route_table_of(subnet_id: str) -> str:
    """The explicitly associated route table the mocks report for an adopted subnet."""
    return "rtb-" + subnet_id.removeprefix("subnet-")


class ByocMocks(OfflineMocks):
    """The offline mocks plus what BYOC reads: the S3 prefix list, route tables and the NLB zone of the region.

    Adopted subnets get distinct zones and a configurable size, the adopted VPC configurable DNS hostnames; the main
    route table answers for subnets without an explicit association, as in AWS.
    """

    def __init__(self, region: str = REGION, subnet_prefix: int = 20, route_tables: str = "explicit",
                 vpc_dns: bool = True):
        super().__init__(region)
        self.subnet_prefix = subnet_prefix
        self.route_tables = route_tables  # "explicit" associations, only the "main" table, or "none" found
        self.vpc_dns = vpc_dns

    def call(self, args):
        token, a = args.token, args.args
        if token == "aws:ec2/getSubnet:getSubnet" and a["id"] in ADOPTED_SUBNETS:
            index = ADOPTED_SUBNETS.index(a["id"])
            return {"id": a["id"], "vpcId": ADOPTED_VPC, "availabilityZone": f"{self.region}{'abc'[index]}",
                    "mapPublicIpOnLaunch": False, "cidrBlock": f"10.90.{index * 16}.0/{self.subnet_prefix}"}
        if token == "aws:ec2/getVpc:getVpc" and a["id"] == ADOPTED_VPC:
            return {**super().call(args), "enableDnsHostnames": self.vpc_dns}
        if token == "aws:ec2/getRouteTables:getRouteTables":
            (flt,) = a["filters"]
            if flt["name"] == "association.subnet-id":
                return {"ids": [route_table_of(flt["values"][0])] if self.route_tables == "explicit" else []}
            return {"ids": [MAIN_ROUTE_TABLE] if self.route_tables == "main" else []}
        if token == "aws:lb/getHostedZoneId:getHostedZoneId":
            return {"id": LOOKED_UP_NLB_ZONE, "loadBalancerType": a.get("loadBalancerType")}
        return super().call(args)

    def resource_outputs(self, typ, name, inputs):
        resource_id, outputs = super().resource_outputs(typ, name, inputs)
        if typ == "aws:ec2/vpcEndpoint:VpcEndpoint" and inputs.get("vpcEndpointType") == "Gateway":
            outputs["prefixListId"] = S3_PREFIX_LIST
        return resource_id, outputs


_RUNS: dict[tuple, ProgramRun] = {}


def run(stack: str = "prod", overrides: Optional[Mapping[str, Any]] = None, **mock_options: Any) -> ProgramRun:
    """The program's run for ``stack`` with ``overrides``, under ByocMocks; cached, so treat it as read-only."""
    key = (stack, tuple(sorted((k, repr(v)) for k, v in (overrides or {}).items())), tuple(sorted(mock_options.items())))
    if key not in _RUNS:
        _RUNS[key] = run_program(stack, overrides, mocks=ByocMocks(**mock_options))
    return _RUNS[key]


def phase3() -> ProgramRun:
    return run("prod", PHASE3)


def custom() -> ProgramRun:
    return run("prod", CUSTOM)


def error_of(overrides: Mapping[str, Any], stack: str = "prod", **mock_options: Any) -> str:
    """The config error ``overrides`` cause (failing the test if the program succeeds)."""
    result = run(stack, overrides, **mock_options)
    assert result.error, f"expected a configuration error for {overrides}"
    assert EXTERNAL_ID_PLACEHOLDER not in result.error
    return result.error


def named(result: ProgramRun, type_: str, name: str) -> RecordedResource:
    found = [r for r in result.resources if r.type == type_ and r.name == name]
    assert len(found) == 1, f"expected one {type_} named {name}, found {len(found)}"
    return found[0]


def children(result: ProgramRun, component_type: str, type_: Optional[str] = None) -> list[RecordedResource]:
    """Every resource under the one component of ``component_type`` (any depth), optionally of one type."""
    (component,) = [r for r in result.resources if r.type == component_type]
    below, frontier = [], {component.urn}
    while frontier:
        level = [r for r in result.resources if r.parent in frontier]
        below += level
        frontier = {r.urn for r in level}
    return [r for r in below if type_ is None or r.type == type_]


def policy(resource: RecordedResource, field: str = "policy") -> dict[str, Any]:
    return json.loads(resource.inputs[field])


def statement(document: Mapping[str, Any], sid: str) -> dict[str, Any]:
    (found,) = [s for s in document["Statement"] if s.get("Sid") == sid]
    return found


def is_wire_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig


def wire_dict(resource: RecordedResource) -> dict[str, Any]:
    return json_format.MessageToDict(resource.wire)


def plaintext_strings(value: Any) -> Iterator[str]:
    """Every string in a wire value that is not inside a secret marker."""
    if is_wire_secret(value):
        return
    if isinstance(value, dict):
        for item in value.values():
            yield from plaintext_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from plaintext_strings(item)
    elif isinstance(value, str):
        yield value
