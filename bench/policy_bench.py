"""Cost of the policy pack on a synthetic stack: milliseconds per resource for Analyze and AnalyzeStack.

    python -m bench.policy_bench [--resources 2000] [--runs 3] [--also 500]

The stack repeats a unit of 20 resources shaped like this project's (a VPC with subnets, route tables, security
groups with inline and separate rules, a prefix list, interface endpoints, KMS keys with policies, buckets with their
pulumi-aws 7 settings, roles with trust and identity policies, log groups, a secret, stack outputs), with references
recorded as property dependencies as the engine records them. The pack runs as the CLI runs it (one process, gRPC);
Analyze is called once per resource, AnalyzeStack once for the graph. Sizes given with ``--also`` show whether the
cost per resource stays flat as the stack grows (linear), which is the target. Wall time includes the gRPC round trips
and whatever else the machine runs; the pack's own CPU time (from /proc) does not.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any, Optional

from pulumi.runtime.proto import analyzer_pb2

from scripts.offline.analyzer import Analyzer, analyzer_env, to_struct

REGION, ACCOUNT = "us-east-1", "123456789012"
_PROVIDER = analyzer_pb2.AnalyzerProviderResource(
    type="pulumi:providers:aws", name="default_7_51_1", urn="urn:pulumi:bench::proj::pulumi:providers:aws::default",
    properties=to_struct({"region": REGION}))


def _urn(type_: str, name: str) -> str:
    return f"urn:pulumi:bench::proj::{type_}::{name}"


def _doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


class _Stack:
    def __init__(self) -> None:
        self.resources: list[analyzer_pb2.AnalyzerResource] = []

    def add(self, type_: str, name: str, props: dict[str, Any], deps: Optional[dict[str, str]] = None) -> str:
        urn = _urn(type_, name)
        self.resources.append(analyzer_pb2.AnalyzerResource(
            type=type_, name=name, urn=urn, properties=to_struct(props),
            provider=_PROVIDER if type_.startswith("aws:") else None,
            propertyDependencies={k: analyzer_pb2.AnalyzerPropertyDependencies(urns=[v])
                                  for k, v in (deps or {}).items()}))
        return urn


def _unit(stack: _Stack, i: int) -> None:
    """Twenty resources, compliant, referencing each other the way the program's do."""
    n = f"u{i}"
    vpc = stack.add("aws:ec2/vpc:Vpc", n, {"cidrBlock": f"10.{i % 250}.0.0/16", "enableDnsSupport": True})
    stack.add("aws:ec2/flowLog:FlowLog", n, {"vpcId": "unknown", "trafficType": "ALL"}, {"vpcId": vpc})
    stack.add("aws:ec2/subnet:Subnet", n, {"vpcId": "x", "cidrBlock": f"10.{i % 250}.0.0/20",
                                           "mapPublicIpOnLaunch": False}, {"vpcId": vpc})
    stack.add("aws:ec2/routeTable:RouteTable", n, {"vpcId": "x", "routes": [
        {"cidrBlock": "10.0.0.0/8", "transitGatewayId": "tgw-1"}]}, {"vpcId": vpc})
    prefix_list = stack.add("aws:ec2/managedPrefixList:ManagedPrefixList", n, {
        "name": n, "addressFamily": "IPv4", "maxEntries": 2, "entries": [{"cidr": "10.1.0.0/16"}]})
    group = stack.add("aws:ec2/securityGroup:SecurityGroup", n, {"vpcId": "x", "ingress": [
        {"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["10.0.0.0/8", "52.94.76.0/24"]}]},
        {"vpcId": vpc})
    stack.add("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", f"{n}-a", {
        "securityGroupId": "x", "ipProtocol": "tcp", "fromPort": 8443, "toPort": 8443, "cidrIpv4": "10.2.0.0/16"},
        {"securityGroupId": group})
    stack.add("aws:ec2/securityGroupRule:SecurityGroupRule", f"{n}-b", {
        "type": "ingress", "securityGroupId": "x", "protocol": "tcp", "fromPort": 9440, "toPort": 9440,
        "prefixListIds": ["x"]}, {"securityGroupId": group, "prefixListIds": prefix_list})
    stack.add("aws:ec2/vpcEndpoint:VpcEndpoint", n, {"vpcId": "x", "vpcEndpointType": "Interface",
                                                     "serviceName": f"com.amazonaws.{REGION}.sts"}, {"vpcId": vpc})
    root = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*",
            "Resource": "*"}
    stack.add("aws:kms/key:Key", n, {"enableKeyRotation": True, "policy": _doc(root)})
    bucket = stack.add("aws:s3/bucket:Bucket", n, {"bucket": f"bench-{n}", "tags": {"purpose": "backups"}})
    on_bucket = {"bucket": bucket}
    stack.add("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", n, {"bucket": "x", **{
        f: True for f in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")}},
        on_bucket)
    stack.add("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", n, {
        "bucket": "x", "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]}, on_bucket)
    stack.add("aws:s3/bucketVersioning:BucketVersioning", n, {"bucket": "x",
                                                              "versioningConfiguration": {"status": "Enabled"}},
              on_bucket)
    stack.add("aws:s3/bucketPolicy:BucketPolicy", n, {"bucket": "x", "policy": _doc({
        "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::bench-{n}", f"arn:aws:s3:::bench-{n}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}})}, on_bucket)
    stack.add("aws:iam/role:Role", n, {"assumeRolePolicy": _doc({
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::426924874929:root"}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": "bench-external-id"}}})})
    stack.add("aws:iam/rolePolicy:RolePolicy", n, {"role": n, "policy": _doc({
        "Effect": "Allow", "Action": ["logs:PutLogEvents", "logs:CreateLogStream"],
        "Resource": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/bench/{n}:*"})})
    stack.add("aws:cloudwatch/logGroup:LogGroup", n, {"name": f"/bench/{n}", "retentionInDays": 90,
                                                      "kmsKeyId": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{n}"})
    stack.add("aws:secretsmanager/secret:Secret", n, {"name": n, "kmsKeyId": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k"})
    stack.add("clickhouse:index/service:Service", n, {"cloudProvider": "aws", "region": REGION, "ipAccesses": []})


UNIT = 20


def synthetic_stack(resources: int) -> list[analyzer_pb2.AnalyzerResource]:
    stack = _Stack()
    for i in range(max(1, resources // UNIT)):
        _unit(stack, i)
    stack.add("pulumi:pulumi:Stack", "bench", {"clickhouse_password_secret_arn": "arn:aws:secretsmanager:x"})
    return stack.resources


def _pack_cpu(pid: Optional[int]) -> float:
    """CPU seconds the pack process has used (Linux /proc), which other load on the machine does not inflate."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(analyzer: Analyzer, resources: list[analyzer_pb2.AnalyzerResource]) -> dict[str, float]:
    """Wall and pack CPU seconds for Analyze over every resource and for one AnalyzeStack."""
    cpu, started = _pack_cpu(analyzer.pid), time.perf_counter()
    blocked = 0
    for r in resources:
        request = analyzer_pb2.AnalyzeRequest(type=r.type, name=r.name, urn=r.urn, properties=r.properties,
                                              options=analyzer_pb2.AnalyzerResourceOptions(),
                                              provider=r.provider if r.HasField("provider") else None)
        blocked += sum(d.level == "mandatory" for d in analyzer.analyze(request))
    analyze, analyze_cpu = time.perf_counter() - started, _pack_cpu(analyzer.pid) - cpu
    cpu, started = _pack_cpu(analyzer.pid), time.perf_counter()
    blocked += sum(d.level == "mandatory" for d in analyzer.analyze_stack(resources))
    stack, stack_cpu = time.perf_counter() - started, _pack_cpu(analyzer.pid) - cpu
    if blocked:
        raise SystemExit(f"the synthetic stack should be compliant but got {blocked} mandatory violations")
    return {"analyze": analyze, "stack": stack, "analyze_cpu": analyze_cpu, "stack_cpu": stack_cpu}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resources", type=int, default=2000, help="size of the synthetic stack")
    parser.add_argument("--also", type=int, nargs="*", default=[500], help="smaller sizes, to show linearity")
    parser.add_argument("--runs", type=int, default=3, help="runs per size (the median is reported)")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, {args.runs} runs per size, medians in "
          "milliseconds per resource (wall, and CPU of the pack process)")
    print(f"{'resources':>9} {'Analyze':>9} {'cpu':>7} {'AnalyzeStack':>13} {'cpu':>7}")
    with Analyzer(analyzer_env("proj", "bench", {"aws:region": REGION})) as analyzer:
        analyzer.connect()
        analyzer.configure({})
        for size in sorted({*args.also, args.resources}):
            resources = synthetic_stack(size)
            runs = [measure(analyzer, resources) for _ in range(args.runs)]
            per = {key: 1000 * statistics.median(r[key] for r in runs) / len(resources) for key in runs[0]}
            print(f"{len(resources):>9} {per['analyze']:>9.3f} {per['analyze_cpu']:>7.3f} {per['stack']:>13.3f}"
                  f" {per['stack_cpu']:>7.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
