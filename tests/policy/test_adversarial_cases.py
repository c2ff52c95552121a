"""Adversarial cases written the way an attacker would: other spellings of what the pack forbids, and compliant
configurations that merely look alarming, each judged as a preview is (Analyze per resource, then AnalyzeStack) in
the pack's default configuration, each stack's policy config, and dev's with approved ClickHouse CIDRs.

A case is blocked when some diagnostic is mandatory; a compliant case must raise none in any configuration.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple, Optional, Union

import pytest
from pulumi.runtime.rpc import UNKNOWN

from scripts.offline.analyzer import PACK_DIR, secret

ACCOUNT, OTHER = "123456789012", "210987654321"
SG = "aws:ec2/securityGroup:SecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
PREFIX_LIST = "aws:ec2/managedPrefixList:ManagedPrefixList"
SERVICE = "clickhouse:index/service:Service"
ROLE = "aws:iam/role:Role"
BUCKET = "aws:s3/bucket:Bucket"
KEY = "aws:kms/key:Key"
CONFIGS = ["default", "dev", "prod", "approved-cidr"]


class R(NamedTuple):
    """One resource of a case; ``deps`` maps an input to the names (same type as given) it depends on."""

    type: str
    props: dict
    name: str = "subject"
    deps: Optional[dict[str, tuple[str, str]]] = None
    # Resource options as the engine sends them, e.g. {"additionalSecretOutputs": ["parameters"]}.
    options: Optional[dict] = None


class Case(NamedTuple):
    id: str
    resources: list[R]
    # "block", "pass", or the set of configurations in which the case is blocked.
    expect: Union[str, frozenset[str]]


def doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def tcp(port: int, *cidrs: str, v6: tuple[str, ...] = ()) -> dict:
    return {"protocol": "tcp", "fromPort": port, "toPort": port, "cidrBlocks": list(cidrs),
            "ipv6CidrBlocks": list(v6)}


def group(*ingress: dict, name: str = "web") -> R:
    return R(SG, {"vpcId": "vpc-1", "name": name, "id": f"sg-0{name}", "ingress": list(ingress)}, name)


def vpc_rule(name: str, port: int, cidr: str, **extra: Any) -> R:
    return R(INGRESS, {"securityGroupId": "sg-0web", "ipProtocol": "tcp", "fromPort": port, "toPort": port,
                       "cidrIpv4": cidr, **extra}, name)


def clickhouse(*sources: str) -> R:
    return R(SERVICE, {"cloudProvider": "aws", "region": "us-east-1",
                       "ipAccesses": [{"source": s, "description": "x"} for s in sources]})


def trust(*statements: dict, **extra: Any) -> R:
    return R(ROLE, {"name": "r", "assumeRolePolicy": doc(*statements), **extra})


def assume(principal: Any, condition: Optional[dict] = None, action: Any = "sts:AssumeRole") -> dict:
    return {"Effect": "Allow", "Principal": principal, "Action": action, **({"Condition": condition} if condition
                                                                           else {})}


def oidc(issuer: str, condition: Optional[dict], action: str = "sts:AssumeRoleWithWebIdentity") -> R:
    # Google and Cognito are named as they are; other providers by the ARN of their IAM OIDC provider.
    built_in = issuer in ("accounts.google.com", "cognito-identity.amazonaws.com")
    arn = issuer if built_in else f"arn:aws:iam::{ACCOUNT}:oidc-provider/{issuer}"
    return trust(assume({"Federated": arn}, condition, action))


def public_grant(condition: Optional[dict] = None, principal: Any = "*", action: Any = "s3:GetObject",
                 **extra: Any) -> dict:
    statement = {"Effect": "Allow", "Principal": principal, "Action": action, "Resource": "*", **extra}
    return {**statement, "Condition": condition} if condition else statement


def bucket_policy(*statements: dict) -> R:
    return R("aws:s3/bucketPolicy:BucketPolicy", {"bucket": "data", "policy": doc(*statements)})


def identity_policy(*statements: dict, token: str = "aws:iam/policy:Policy") -> R:
    return R(token, {"policy": doc(*statements)})


def bucket_stack(*policy_statements: dict) -> list[R]:
    """A bucket with every setting the baseline asks for, and a policy made of ``policy_statements``."""
    linked = {"bucket": (BUCKET, "data")}
    return [
        R(BUCKET, {"bucket": "data"}, "data"),
        R("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", {"bucket": UNKNOWN, **{
            f: True for f in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")}},
          "data", linked),
        R("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
          {"bucket": UNKNOWN, "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]},
          "data", linked),
        R("aws:s3/bucketVersioning:BucketVersioning",
          {"bucket": UNKNOWN, "versioningConfiguration": {"status": "Enabled"}}, "data", linked),
        R("aws:s3/bucketPolicy:BucketPolicy", {"bucket": UNKNOWN, "policy": doc(*policy_statements)}, "data",
          linked),
    ]


TLS = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": ["arn:aws:s3:::data", "arn:aws:s3:::data/*"],
       "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
ORG = {"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}}
GITHUB = "token.actions.githubusercontent.com"
EKS = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
ADMIN_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
CLICKHOUSE_TEMPLATE = ("https://s3.us-east-2.amazonaws.com/clickhouse-public-resources.clickhouse.cloud/"
                       "cf-templates/byoc_v2.yaml")


EXTERNAL_ID = "ext-0f3c9a7e-from-clickhouse"


def cfn(template_url: Optional[str] = CLICKHOUSE_TEMPLATE, parameters: Optional[dict] = None,
        secret_outputs: tuple[str, ...] = ("parameters",), **extra: Any) -> R:
    """ClickHouse's bootstrap stack as the program declares it, or with one thing changed."""
    params = {"ExternalId": secret(EXTERNAL_ID), "IncludeVPCWritePermissions": "false"}
    return R("aws:cloudformation/stack:Stack", {"name": "bootstrap", "templateUrl": template_url,
                                                "capabilities": ["CAPABILITY_NAMED_IAM"],
                                                "parameters": params if parameters is None else parameters, **extra},
             options={"additionalSecretOutputs": list(secret_outputs)})

CASES = [
    # --- address coverage ------------------------------------------------------------------------------------------
    Case("sg-inline-ipv4-halves", [group(tcp(443, "0.0.0.0/1", "128.0.0.0/1"))], "block"),
    Case("sg-inline-ipv6-halves", [group(tcp(443, v6=("::/1", "8000::/1")))], "block"),
    Case("sg-inline-global-unicast", [group(tcp(443, v6=("2000::/3",)))], "block"),
    Case("sg-inline-quarters-across-rules", [group(tcp(22, "0.0.0.0/2", "64.0.0.0/2"),
                                                   tcp(22, "128.0.0.0/2"), tcp(22, "192.0.0.0/2"))], "block"),
    Case("sg-inline-very-wide", [group(tcp(5432, "3.0.0.0/8"))], "block"),
    Case("sg-ipv4-mapped-ipv6", [group(tcp(22, v6=("::ffff:0.0.0.0/96",)))], "block"),
    Case("sg-all-traffic-protocol-number", [group({"protocol": "-1", "fromPort": 0, "toPort": 0,
                                                   "cidrBlocks": ["0.0.0.0/0"]})], "block"),
    Case("sg-protocol-6-world", [group({"protocol": "6", "fromPort": 0, "toPort": 65535,
                                        "ipv6CidrBlocks": ["::/0"]})], "block"),
    Case("sg-rule-resource-halves", [R(SG_RULE, {"type": "ingress", "securityGroupId": "sg-0abc", "protocol": "tcp",
                                                 "fromPort": 22, "toPort": 22,
                                                 "cidrBlocks": ["0.0.0.0/1", "128.0.0.0/1"]})], "block"),
    Case("sg-inline-plus-rule-resource", [group(tcp(443, "0.0.0.0/1")), vpc_rule("upper", 443, "128.0.0.0/1")],
         "block"),
    Case("sg-three-narrow-ranges-in-three-resources", [
        group(tcp(443, "52.0.0.0/17")), vpc_rule("b", 443, "52.0.128.0/17"),
        R(SG_RULE, {"type": "ingress", "securityGroupId": "sg-0web", "protocol": "tcp", "fromPort": 400,
                    "toPort": 500, "cidrBlocks": ["54.0.0.0/17"]}, "c")], "block"),
    Case("sg-rules-by-dependency-on-group", [
        group(name="db"),
        R(INGRESS, {"securityGroupId": UNKNOWN, "ipProtocol": "-1", "cidrIpv4": "0.0.0.0/1"}, "lower",
          {"securityGroupId": (SG, "db")}),
        R(INGRESS, {"securityGroupId": UNKNOWN, "ipProtocol": "-1", "cidrIpv4": "128.0.0.0/1"}, "upper",
          {"securityGroupId": (SG, "db")})], "block"),
    Case("sg-prefix-list-in-stack", [
        R(PREFIX_LIST, {"name": "pl", "addressFamily": "IPv4", "maxEntries": 2, "id": "pl-0open",
                        "entries": [{"cidr": "0.0.0.0/1"}, {"cidr": "128.0.0.0/1"}]}, "open"),
        vpc_rule("via-list", 8443, None, prefixListId="pl-0open")], "block"),
    Case("sg-prefix-list-entries-by-dependency", [
        R(PREFIX_LIST, {"name": "pl", "addressFamily": "IPv4", "maxEntries": 2}, "open"),
        R("aws:ec2/managedPrefixListEntry:ManagedPrefixListEntry", {"prefixListId": UNKNOWN, "cidr": "0.0.0.0/0"},
          "all", {"prefixListId": (PREFIX_LIST, "open")}),
        R(INGRESS, {"securityGroupId": "sg-0web", "ipProtocol": "tcp", "fromPort": 22, "toPort": 22,
                    "prefixListId": UNKNOWN}, "via-list", {"prefixListId": (PREFIX_LIST, "open")})], "block"),
    Case("sg-inline-prefix-list-by-dependency", [
        R(PREFIX_LIST, {"name": "pl", "addressFamily": "IPv6", "maxEntries": 1, "entries": [{"cidr": "::/0"}]},
          "open"),
        R(SG, {"vpcId": "vpc-1", "ingress": [{"protocol": "tcp", "fromPort": 443, "toPort": 443,
                                              "prefixListIds": [UNKNOWN]}]}, "web",
          {"ingress": (PREFIX_LIST, "open")})], "block"),
    Case("sg-unknown-cidr", [vpc_rule("unknown", 22, UNKNOWN)], "block"),
    Case("sg-private-and-office", [group(tcp(8443, "10.0.0.0/8", "52.94.76.0/24"), tcp(9440, "172.16.0.0/12"))],
         "pass"),
    Case("sg-referenced-group-and-egress-anywhere", [
        group(), R(INGRESS, {"securityGroupId": "sg-0web", "ipProtocol": "tcp", "fromPort": 8443, "toPort": 8443,
                             "referencedSecurityGroupId": "sg-0app"}, "from-app"),
        R(EGRESS, {"securityGroupId": "sg-0web", "ipProtocol": "-1", "cidrIpv4": "0.0.0.0/0"}, "out"),
        R(SG_RULE, {"type": "egress", "securityGroupId": "sg-0web", "protocol": "-1", "fromPort": 0, "toPort": 0,
                    "cidrBlocks": ["0.0.0.0/0"]}, "out-legacy")], "pass"),
    Case("sg-two-adjacent-narrow-ranges", [group(tcp(443, "52.94.0.0/17", "52.94.128.0/17"))], "pass"),
    Case("clickhouse-halves", [clickhouse("0.0.0.0/1", "128.0.0.0/1")], "block"),
    Case("clickhouse-ipv6-world", [clickhouse("::/0")], "block"),
    Case("clickhouse-mapped-world", [clickhouse("::ffff:0:0/96")], "block"),
    Case("clickhouse-privatelink-only", [clickhouse()], "pass"),
    Case("clickhouse-approved-office", [clickhouse("52.94.76.10/32", "2600:1f18:1234:56::/64")],
         frozenset({"default", "dev", "prod"})),
    Case("clickhouse-wider-than-approved", [clickhouse("52.94.0.0/16")], "block"),
    Case("eks-public-cidrs-halves", [R("aws:eks/cluster:Cluster", {"vpcConfig": {
        "endpointPublicAccess": False, "subnetIds": ["s"], "publicAccessCidrs": ["0.0.0.0/1", "128.0.0.0/1"]}})],
         "block"),
    # --- internet paths without a gateway --------------------------------------------------------------------------
    Case("route-to-existing-igw", [R("aws:ec2/route:Route", {"routeTableId": "rtb-1",
                                                             "destinationCidrBlock": "0.0.0.0/0",
                                                             "gatewayId": "igw-0123456789abcdef0"})], "block"),
    Case("route-table-inline-igw", [R("aws:ec2/routeTable:RouteTable", {"vpcId": "vpc-1", "routes": [
        {"cidrBlock": "0.0.0.0/1", "gatewayId": "igw-0abc"}]})], "block"),
    Case("default-route-table-inline-igw", [R("aws:ec2/defaultRouteTable:DefaultRouteTable", {
        "defaultRouteTableId": "rtb-1", "routes": [{"ipv6CidrBlock": "::/0", "gatewayId": "igw-0abc"}]})], "block"),
    Case("route-egress-only", [R("aws:ec2/route:Route", {"routeTableId": "rtb-1", "destinationIpv6CidrBlock": "::/0",
                                                         "egressOnlyGatewayId": "eigw-0abc"})], "block"),
    Case("route-carrier-gateway", [R("aws:ec2/route:Route", {"routeTableId": "rtb-1",
                                                             "destinationCidrBlock": "0.0.0.0/0",
                                                             "carrierGatewayId": "cagw-0abc"})], "block"),
    Case("igw-edge-association", [R("aws:ec2/routeTableAssociation:RouteTableAssociation",
                                    {"routeTableId": "rtb-1", "gatewayId": "igw-0abc"})], "block"),
    Case("instance-public-ip", [R("aws:ec2/instance:Instance", {"ami": "ami-1", "instanceType": "t3.micro",
                                                                "associatePublicIpAddress": True})], "block"),
    Case("launch-template-public-ip", [R("aws:ec2/launchTemplate:LaunchTemplate", {"networkInterfaces": [
        {"deviceIndex": 0, "associatePublicIpAddress": "true"}]})], "block"),
    Case("launch-configuration-public-ip", [R("aws:ec2/launchConfiguration:LaunchConfiguration", {
        "imageId": "ami-1", "instanceType": "t3.micro", "associatePublicIpAddress": True})], "block"),
    Case("ecs-service-public-ip", [R("aws:ecs/service:Service", {"name": "s", "networkConfiguration": {
        "subnets": ["s"], "assignPublicIp": True}})], "block"),
    Case("existing-eip-associated", [R("aws:ec2/eipAssociation:EipAssociation",
                                       {"allocationId": "eipalloc-0abc", "networkInterfaceId": "eni-1"})], "block"),
    Case("private-routes-and-instance", [
        R("aws:ec2/route:Route", {"routeTableId": "rtb-1", "destinationCidrBlock": "10.0.0.0/8",
                                  "transitGatewayId": "tgw-1"}, "to-tgw"),
        R("aws:ec2/routeTable:RouteTable", {"vpcId": "vpc-1", "routes": [{"cidrBlock": "172.16.0.0/12",
                                                                          "vpcPeeringConnectionId": "pcx-1"}]}, "rt"),
        R("aws:ec2/instance:Instance", {"ami": "ami-1", "instanceType": "t3.micro", "subnetId": "subnet-1",
                                        "associatePublicIpAddress": False}, "vm"),
        R("aws:ec2/launchTemplate:LaunchTemplate", {"networkInterfaces": [{"associatePublicIpAddress": "false"}]},
          "lt")], "pass"),
    # --- resource policies -----------------------------------------------------------------------------------------
    Case("bucket-policy-sourcevpce-wildcard", [bucket_policy(public_grant({"StringLike": {"aws:SourceVpce": "*"}}))],
         "block"),
    Case("bucket-policy-question-marks", [bucket_policy(public_grant(
        {"StringLike": {"aws:PrincipalAccount": "????????????"}}))], "block"),
    Case("bucket-policy-ifexists", [bucket_policy(public_grant(
        {"StringEqualsIfExists": {"aws:SourceVpce": "vpce-0abc"}}))], "block"),
    Case("bucket-policy-forallvalues-org", [bucket_policy(public_grant(
        {"ForAllValues:StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}}))], "block"),
    Case("bucket-policy-sourceip-halves", [bucket_policy(public_grant(
        {"IpAddress": {"aws:SourceIp": ["0.0.0.0/1", "128.0.0.0/1"]}}))], "block"),
    Case("bucket-policy-principalarn-any-account", [bucket_policy(public_grant(
        {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:*"}}))], "block"),
    Case("bucket-policy-not-principal", [bucket_policy({"Effect": "Allow", "NotPrincipal": {
        "AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "s3:*", "Resource": "*"})], "block"),
    Case("bucket-policy-negated-account", [bucket_policy(public_grant(
        {"StringNotEquals": {"aws:PrincipalAccount": OTHER}}))], "block"),
    Case("bucket-grants-all-users", [R("aws:s3/bucketAclV2:BucketAclV2", {"bucket": "data", "accessControlPolicy": {
        "owner": {"id": "o"}, "grants": [{"permission": "FULL_CONTROL", "grantee": {
            "type": "Group", "uri": "http://acs.amazonaws.com/groups/global/AllUsers"}}]}})], "block"),
    Case("bucket-acl-public-read", [R("aws:s3/bucketAcl:BucketAcl", {"bucket": "data", "acl": "public-read"})],
         "block"),
    Case("key-policy-caller-account-wildcard", [R(KEY, {"enableKeyRotation": True, "policy": doc(public_grant(
        {"StringLike": {"kms:CallerAccount": "*"}}, action="kms:Decrypt"))})], "block"),
    Case("key-policy-principal-list-with-star", [R("aws:kms/keyPolicy:KeyPolicy", {"keyId": "k", "policy": doc(
        public_grant(principal={"AWS": [f"arn:aws:iam::{ACCOUNT}:root", "*"]}, action="kms:*"))})], "block"),
    Case("secret-inline-policy", [R("aws:secretsmanager/secret:Secret", {
        "kmsKeyId": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k", "policy": doc(public_grant(
            action="secretsmanager:GetSecretValue"))})], "block"),
    Case("secret-policy-resource", [R("aws:secretsmanager/secretPolicy:SecretPolicy", {
        "secretArn": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:s", "policy": doc(public_grant(
            {"Null": {"aws:PrincipalOrgID": "false"}}, action="secretsmanager:*"))})], "block"),
    Case("sns-topic-policy-any-source", [R("aws:sns/topicPolicy:TopicPolicy", {"arn": "t", "policy": doc(public_grant(
        {"ArnLike": {"aws:SourceArn": "arn:aws:*:*:*:*"}}, action="sns:Publish"))})], "block"),
    Case("sqs-queue-inline-bare-principal", [R("aws:sqs/queue:Queue", {"name": "q", "policy": doc(public_grant(
        principal={"AWS": "*"}, action="sqs:*"))})], "block"),
    Case("sqs-queue-policy-wildcard-source-account", [R("aws:sqs/queuePolicy:QueuePolicy", {
        "queueUrl": "q", "policy": doc(public_grant({"StringLike": {"aws:SourceAccount": "?*"}},
                                                    action="sqs:SendMessage"))})], "block"),
    Case("lambda-permission-anyone", [R("aws:lambda/permission:Permission", {
        "function": "f", "action": "lambda:InvokeFunction", "principal": "*"})], "block"),
    Case("lambda-function-url-no-auth", [R("aws:lambda/functionUrl:FunctionUrl", {
        "functionName": "f", "authorizationType": "NONE"})], "block"),
    Case("ecr-repository-policy", [R("aws:ecr/repositoryPolicy:RepositoryPolicy", {
        "repository": "r", "policy": doc(public_grant(action=["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]))})],
         "block"),
    Case("vpc-endpoint-policy-open", [R("aws:ec2/vpcEndpointPolicy:VpcEndpointPolicy", {
        "vpcEndpointId": "vpce-1", "policy": doc(public_grant(action="*"))})], "block"),
    Case("bucket-policy-own-account-and-vpce", [bucket_policy(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "s3:*",
         "Resource": "*"},
        public_grant({"StringEquals": {"aws:SourceVpce": "vpce-0abc"}}))], "pass"),
    Case("bucket-policy-data-perimeter", [bucket_policy(
        public_grant(), {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
                         "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-abcdefghij"}}})], "pass"),
    Case("key-policy-root-and-service", [R(KEY, {"enableKeyRotation": True, "policy": doc(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"},
        public_grant({"StringEquals": {"kms:CallerAccount": ACCOUNT, "kms:ViaService": "s3.us-east-1.amazonaws.com"}},
                     action=["kms:Decrypt", "kms:GenerateDataKey*"]))})], "pass"),
    Case("sqs-from-one-topic", [R("aws:sqs/queuePolicy:QueuePolicy", {"queueUrl": "q", "policy": doc(public_grant(
        {"ArnEquals": {"aws:SourceArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:alarms"}}, action="sqs:SendMessage",
        principal={"Service": "sns.amazonaws.com"}))})], "pass"),
    Case("lambda-permission-from-one-account", [R("aws:lambda/permission:Permission", {
        "function": "f", "action": "lambda:InvokeFunction", "principal": "*", "sourceAccount": ACCOUNT})], "pass"),
    Case("vpc-endpoint-policy-org-only", [R("aws:ec2/vpcEndpointPolicy:VpcEndpointPolicy", {
        "vpcEndpointId": "vpce-1", "policy": doc(public_grant(ORG, action="*"))})], "pass"),
    # --- trust policies --------------------------------------------------------------------------------------------
    Case("trust-bare-star", [trust(assume("*"))], "block"),
    Case("trust-aws-star-list", [trust(assume({"AWS": ["*"]}))], "block"),
    Case("trust-account-wildcard-arn", [trust(assume({"AWS": "arn:aws:iam::*:root"}))], "block"),
    Case("trust-cross-account-bare-id", [trust(assume(OTHER))], "block"),
    Case("trust-external-id-star", [trust(assume({"AWS": OTHER}, {"StringLike": {"sts:ExternalId": "*"}}))],
         "block"),
    Case("trust-external-id-question-star", [trust(assume({"AWS": OTHER}, {"StringLike": {"sts:ExternalId": "?*"}}))],
         "block"),
    Case("trust-external-id-forallvalues", [trust(assume(
        {"AWS": f"arn:aws:iam::{OTHER}:root"}, {"ForAllValues:StringEquals": {"sts:ExternalId": "s3cr3t-1d"}}))],
         "block"),
    Case("trust-external-id-ifexists", [trust(assume(
        {"AWS": f"arn:aws:iam::{OTHER}:root"}, {"StringEqualsIfExists": {"sts:ExternalId": "s3cr3t-1d"}}))], "block"),
    Case("trust-sts-star-cross-account", [trust(assume({"AWS": OTHER}, action="sts:*"))], "block"),
    Case("trust-github-no-sub", [oidc(GITHUB, {"StringEquals": {f"{GITHUB}:aud": "sts.amazonaws.com"}})], "block"),
    Case("trust-github-any-repo", [oidc(GITHUB, {"StringEquals": {f"{GITHUB}:aud": "sts.amazonaws.com"},
                                                 "StringLike": {f"{GITHUB}:sub": "repo:*"}})], "block"),
    Case("trust-eks-any-service-account", [oidc(EKS, {"StringEquals": {f"{EKS}:aud": "sts.amazonaws.com"},
                                                      "StringLike": {f"{EKS}:sub": "system:serviceaccount:*:*"}})],
         "block"),
    Case("trust-eks-aud-missing", [oidc(EKS, {"StringEquals": {f"{EKS}:sub": "system:serviceaccount:ch:server"}})],
         "block"),
    Case("trust-google-any", [oidc("accounts.google.com", None)], "block"),
    Case("trust-cognito-no-pool", [oidc("cognito-identity.amazonaws.com", {
        "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "authenticated"}})], "block"),
    Case("trust-federated-assume-role-with-star", [oidc(GITHUB, None, action="sts:AssumeRoleWith*")], "block"),
    Case("trust-unknown", [R(ROLE, {"assumeRolePolicy": UNKNOWN})], "block"),
    Case("trust-service-and-clickhouse-with-external-id", [trust(
        assume({"Service": "ec2.amazonaws.com"}),
        assume({"AWS": f"arn:aws:iam::{OTHER}:root"}, {"StringEquals": {"sts:ExternalId": "2f0c6a3e-customer-42"}}))],
         "pass"),
    Case("trust-github-one-repo", [oidc(GITHUB, {"StringEquals": {f"{GITHUB}:aud": "sts.amazonaws.com"},
                                                 "StringLike": {f"{GITHUB}:sub": "repo:acme/infra:ref:refs/heads/*"}})],
         "pass"),
    Case("trust-eks-one-service-account", [oidc(EKS, {"StringEquals": {
        f"{EKS}:aud": "sts.amazonaws.com", f"{EKS}:sub": "system:serviceaccount:clickhouse:server"}})], "pass"),
    Case("trust-cognito-pool", [oidc("cognito-identity.amazonaws.com", {
        "StringEquals": {"cognito-identity.amazonaws.com:aud": "us-east-1:0d7e5f1a-1111-2222-3333-444455556666"},
        "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "authenticated"}})], "pass"),
    # --- administrator equivalence ---------------------------------------------------------------------------------
    Case("admin-iam-star", [identity_policy({"Effect": "Allow", "Action": "iam:*", "Resource": "*"})], "block"),
    Case("admin-star-on-arn-wildcard", [identity_policy({"Effect": "Allow", "Action": "*",
                                                         "Resource": "arn:aws:*:*:*:*"})], "block"),
    Case("admin-not-resource", [identity_policy({"Effect": "Allow", "Action": "*", "NotResource": "arn:aws:s3:::x"},
                                                token="aws:iam/rolePolicy:RolePolicy")], "block"),
    Case("admin-not-action", [identity_policy({"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"],
                                               "Resource": "*"}, token="aws:iam/userPolicy:UserPolicy")], "block"),
    Case("admin-pass-any-role", [identity_policy({"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"},
                                                 token="aws:iam/groupPolicy:GroupPolicy")], "block"),
    Case("admin-attach-any-role-policy", [identity_policy({"Effect": "Allow", "Action": [
        "iam:AttachRolePolicy", "sts:AssumeRole"], "Resource": "*"})], "block"),
    Case("admin-role-managed-arns", [trust(assume({"Service": "ec2.amazonaws.com"}),
                                           managedPolicyArns=[ADMIN_ARN])], "block"),
    Case("admin-policy-attachment", [R("aws:iam/policyAttachment:PolicyAttachment", {
        "policyArn": "arn:aws:iam::aws:policy/IAMFullAccess", "users": ["u"]})], "block"),
    Case("admin-exclusive-attachments", [R("aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive", {
        "roleName": "r", "policyArns": [ADMIN_ARN]})], "block"),
    Case("admin-inline-role-policies", [trust(assume({"Service": "ec2.amazonaws.com"}), inlinePolicies=[
        {"name": "all", "policy": doc({"Effect": "Allow", "Action": "*:*", "Resource": "*"})}])], "block"),
    Case("scoped-identity-policies", [
        identity_policy({"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
                         "Resource": "arn:aws:s3:::data/*"}),
        identity_policy({"Effect": "Allow", "Action": "iam:PassRole", "Resource": f"arn:aws:iam::{ACCOUNT}:role/app"},
                        token="aws:iam/rolePolicy:RolePolicy"),
        R("aws:iam/rolePolicyAttachment:RolePolicyAttachment", {
            "role": "r", "policyArn": "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"}, "attach"),
        trust(assume({"Service": "ec2.amazonaws.com"}), permissionsBoundary=ADMIN_ARN)], "pass"),
    # --- cross-region ----------------------------------------------------------------------------------------------
    Case("region-v7-input", [R("aws:sqs/queue:Queue", {"name": "q", "region": "eu-west-1"})], "block"),
    Case("region-kms-arn-input", [R("aws:sns/topic:Topic", {
        "kmsMasterKeyId": f"arn:aws:kms:eu-central-1:{ACCOUNT}:key/k"})], "block"),
    Case("region-nested-replica", [R("aws:dynamodb/table:Table", {"name": "t", "replicas": [
        {"regionName": "ap-southeast-2"}]})], "block"),
    Case("region-host-name", [R("aws:sns/topicSubscription:TopicSubscription", {
        "topic": f"arn:aws:sns:us-east-1:{ACCOUNT}:t", "protocol": "https",
        "endpoint": "https://sqs.eu-west-1.amazonaws.com/123456789012/q"})], "block"),
    Case("region-endpoint-service", [R("aws:ec2/vpcEndpoint:VpcEndpoint", {
        "vpcId": "vpc-1", "serviceName": "com.amazonaws.vpce.eu-west-1.vpce-svc-0abc"})], "block"),
    Case("region-zone-vpc", [R("aws:route53/zone:Zone", {"name": "x.internal", "vpcs": [
        {"vpcId": "vpc-1", "vpcRegion": "us-west-2"}]})], "block"),
    Case("region-provider-sts", [R("aws:cloudwatch/logGroup:LogGroup", {"name": "g", "retentionInDays": 30,
                                                                         "kmsKeyId": "k"}),
                                 R("pulumi:providers:aws", {"region": "us-east-1", "stsRegion": "eu-west-1"},
                                   "explicit")], "block"),
    Case("region-clickhouse-service", [R(SERVICE, {"cloudProvider": "aws", "region": "eu-west-1",
                                                   "ipAccesses": []})], "block"),
    Case("region-clickhouse-registration", [R("clickhouse:PrivateEndpoint/registration:Registration", {
        "cloudProvider": "aws", "region": "us-west-2", "privateEndpointId": "vpce-1"})], "block"),
    Case("region-availability-zone", [R("aws:ec2/subnet:Subnet", {"vpcId": "vpc-1", "cidrBlock": "10.0.0.0/24",
                                                                   "availabilityZone": "eu-central-1b"})], "block"),
    Case("region-unknown", [R("aws:sqs/queue:Queue", {"name": "q", "region": UNKNOWN})], "block"),
    Case("region-same-everywhere", [
        R("aws:sqs/queue:Queue", {"name": "q", "region": "us-east-1",
                                  "kmsMasterKeyId": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k"}, "q"),
        R("aws:dynamodb/table:Table", {"name": "t", "replicas": [{"regionName": "us-east-1"}]}, "t"),
        R("clickhouse:PrivateEndpoint/registration:Registration", {"cloudProvider": "aws", "region": "us-east-1",
                                                                   "privateEndpointId": "vpce-1"}, "reg"),
        R("aws:ec2/vpcEndpoint:VpcEndpoint", {"vpcId": "vpc-1", "serviceName": "com.amazonaws.us-east-1.s3",
                                              "vpcEndpointType": "Gateway"}, "s3")], "pass"),
    # --- TLS-only bucket policies ----------------------------------------------------------------------------------
    Case("tls-one-action-only", bucket_stack({**TLS, "Action": "s3:GetObject"}), "block"),
    Case("tls-objects-only", bucket_stack({**TLS, "Resource": "arn:aws:s3:::data/*"}), "block"),
    Case("tls-extra-condition", bucket_stack({**TLS, "Condition": {**TLS["Condition"],
                                                                  "StringEquals": {"aws:SourceVpce": "vpce-1"}}}),
         "block"),
    Case("tls-as-allow", bucket_stack({**TLS, "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}}),
         "block"),
    Case("tls-bool-if-exists", bucket_stack({**TLS, "Condition": {"BoolIfExists": {"aws:SecureTransport": "false"}}}),
         "pass"),
    Case("tls-star-action-bool-false", bucket_stack({**TLS, "Action": "*", "Condition": {
        "Bool": {"aws:SecureTransport": False}}}), "pass"),
    # --- outputs that are references, and credentials --------------------------------------------------------------
    Case("outputs-references", [R("pulumi:pulumi:Stack", {
        "clickhouse_password_secret_arn": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:pw-AbCdEf",
        "clickhouse_password_kms_key_id": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "api_token_secret_name": "clickhouse/api-token", "external_id_secret_arns": ["arn:aws:secretsmanager:x"],
        "clickhouse_password_key_alias": f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/clickhouse-password"},
        "proj-test")], "pass"),
    Case("outputs-credentials", [R("pulumi:pulumi:Stack", {"byoc": {"external_id": "2f0c6a3e-customer-42"},
                                                           "db_password": "hunter2hunter2"}, "proj-test")], "block"),
]


# CloudFormation: only ClickHouse's template, by its exact URL, and the ExternalId from secret config. Judged in a pack
# whose stack holds that ExternalId as a secret, so the compliant stack passes and each change is what blocks.
CFN_CASES = [
    Case("cfn-clickhouse-bootstrap", [cfn()], "pass"),
    Case("cfn-older-clickhouse-template", [cfn(CLICKHOUSE_TEMPLATE.replace("byoc_v2.yaml", "byoc.yaml"))], "pass"),
    Case("cfn-lookalike-host", [cfn(CLICKHOUSE_TEMPLATE.replace(".clickhouse.cloud/", ".clickhouse.cloud.example.net/"))],
         "block"),
    Case("cfn-lookalike-bucket", [cfn(CLICKHOUSE_TEMPLATE.replace("clickhouse-public-resources", "clickhouse-public"))],
         "block"),
    Case("cfn-http", [cfn(CLICKHOUSE_TEMPLATE.replace("https://", "http://"))], "block"),
    Case("cfn-query-string", [cfn(CLICKHOUSE_TEMPLATE + "?versionId=null")], "block"),
    Case("cfn-fragment", [cfn(CLICKHOUSE_TEMPLATE + "#byoc")], "block"),
    Case("cfn-template-body", [cfn(None, templateBody="Resources:\n  R: {Type: 'AWS::IAM::Role'}")], "block"),
    Case("cfn-template-url-computed", [cfn(UNKNOWN)], "block"),
    Case("cfn-template-body-beside-url", [cfn(templateBody="{}")], "block"),
    # A literal in the program; the stack's own value travelling without its secret marker is the offline gate's to
    # see (pulumi-policy unwraps secrets before the pack runs): test_bootstrap_gate.
    Case("cfn-external-id-literal", [cfn(parameters={"ExternalId": "ext-hardcoded-in-program"})], "block"),
    Case("cfn-missing-external-id", [cfn(parameters={"IncludeVPCWritePermissions": "false"})], "block"),
    Case("cfn-parameters-in-plain-state", [cfn(secret_outputs=())], "block"),
    Case("cfn-serverless-application", [R("aws:serverlessrepository/cloudFormationStack:CloudFormationStack", {
        "name": "app", "applicationId": "arn:aws:serverlessrepo:us-east-1:123456789012:applications/role-maker",
        "capabilities": ["CAPABILITY_NAMED_IAM"], "parameters": {"ExternalId": secret(EXTERNAL_ID)}})], "block"),
]
CFN_STACK_CONFIG = {"aws:region": "us-east-1", "clickhouse-aws:byocExternalId": EXTERNAL_ID}


def _resource(pack, r: R):
    deps = {k: [pack.urn(t, n)] for k, (t, n) in (r.deps or {}).items()}
    provider = {} if r.type.startswith("pulumi:") else None
    props = {k: v for k, v in r.props.items() if v is not None}
    return pack.resource(r.type, r.name, props, deps=deps, provider=provider, options=r.options)


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(pack, policy_configs, config: str, case: Case) -> None:
    pack.configure(policy_configs[config])
    diagnostics = pack.judge([_resource(pack, r) for r in case.resources])
    mandatory = [f"{d.policy}: {d.message.splitlines()[-1]}" for d in diagnostics if d.level == "mandatory"]
    expected = case.expect == "block" or (isinstance(case.expect, frozenset) and config in case.expect)
    assert bool(mandatory) is expected, mandatory or "nothing blocked"


@pytest.mark.parametrize("config", ["default", "byoc", "dev", "prod"])
@pytest.mark.parametrize("case", CFN_CASES, ids=[c.id for c in CFN_CASES])
def test_cloudformation_case(pack_for, config: str, case: Case) -> None:
    pack = pack_for(CFN_STACK_CONFIG, ["clickhouse-aws:byocExternalId"])
    pack.configure({} if config == "default" else json.loads((PACK_DIR / f"config.{config}.json").read_text()))
    diagnostics = pack.judge([_resource(pack, r) for r in case.resources])
    mandatory = [f"{d.policy}: {d.message.splitlines()[-1]}" for d in diagnostics if d.level == "mandatory"]
    # The PrivateLink stacks allow no CloudFormation stack at all.
    expected = case.expect == "block" or config in ("dev", "prod")
    assert bool(mandatory) is expected, mandatory or "nothing blocked"


def test_cases_are_balanced() -> None:
    """Both kinds are represented in every area, so a pack that blocks everything (or nothing) fails here."""
    verdicts = {c.expect if isinstance(c.expect, str) else "config" for c in CASES}
    assert verdicts == {"block", "pass", "config"} and len({c.id for c in CASES}) == len(CASES)
    assert {c.expect for c in CFN_CASES} == {"block", "pass"} and len({c.id for c in CFN_CASES}) == len(CFN_CASES)
