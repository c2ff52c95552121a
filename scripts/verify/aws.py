"""The AWS reads the connectivity check makes: who the caller is, the VPC's CIDRs, the addresses of the VPC endpoint's
and the internal NLBs' network interfaces, and the password secret.

Every client carries a botocore ``before-call`` hook that refuses any operation outside ``OPERATIONS`` before it is
signed or sent, so the check cannot change the account. Timeouts and retries are fixed and small, so a run is bounded
even when AWS is unreachable. SDK failures that stop the run become a ``VerifyError`` (exit code 2); "not found"
answers are returned as None, because a missing VPC or endpoint is a finding of the check that needed it.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, Union

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, PartialCredentialsError
from botocore.model import OperationModel

from scripts.aws_session import ACCESS_DENIED_CODES, CREDENTIALS_REJECTED_CODES, GuardedClients, error_code, translated
from scripts.aws_settings import settings_error
from scripts.verify.network import IPAddress
from scripts.verify.report import VerifyError

IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

# (service signing name, API operation): everything the check may call. docs/verify-iam-policy.json grants exactly
# these (a test keeps the two equal).
OPERATIONS = frozenset({
    ("sts", "GetCallerIdentity"),
    ("ec2", "DescribeVpcs"),
    ("ec2", "DescribeVpcEndpoints"),
    ("ec2", "DescribeNetworkInterfaces"),
    ("elasticloadbalancing", "DescribeLoadBalancers"),
    ("secretsmanager", "GetSecretValue"),
})
POLICY_DOCUMENT = "docs/verify-iam-policy.json"
# What stops the run as a VerifyError; ValueError: a malformed AWS_ENDPOINT_URL and the like.
_FAILURES = (ClientError, BotoCoreError, ValueError)
_CONFIG = Config(
    connect_timeout=5,
    read_timeout=10,
    retries={"mode": "standard", "max_attempts": 3},
    # Shows up in CloudTrail's userAgent, so the check's reads (and its one secret read) are easy to tell apart.
    user_agent_extra="clickhouse-aws-verify",
)


@dataclass(frozen=True)
class Interfaces:
    """What a name should resolve to: the private addresses of some network interfaces and who owns them."""

    owner: str
    vpc_id: str
    addresses: frozenset[IPAddress]


def refuse_others(model: OperationModel, **_: Any) -> None:
    """botocore ``before-call`` hook: stop any operation not in OPERATIONS before it is signed or sent."""
    if (model.service_model.signing_name, model.name) not in OPERATIONS:
        raise VerifyError(f"The connectivity check refused to call {model.service_model.signing_name}:{model.name}; "
                          "it only reads what it needs. This is a bug in the check; nothing was sent to AWS.")


def _translate(err: Exception, action: str) -> VerifyError:
    if isinstance(err, ClientError):
        code = error_code(err)
        detail = err.response.get("Error", {}).get("Message") or "no message"
        if code in ACCESS_DENIED_CODES:
            return VerifyError(f"AWS denied {action} ({code}: {detail}). The check needs the permissions in "
                               f"{POLICY_DOCUMENT}; attach that policy to the identity that runs it.")
        if code in CREDENTIALS_REJECTED_CODES:
            return VerifyError(f"AWS rejected the credentials on {action} ({code}: {detail}). Refresh them (for "
                               "example `aws sso login --profile <profile>`) and run again.")
        if code == "DecryptionFailure":
            return VerifyError(f"Secrets Manager could not decrypt the password secret ({detail}). The identity "
                               "needs kms:Decrypt on the secret's KMS key (see docs/verify.md).")
        return VerifyError(f"{action} failed with {code or 'an unknown error'}: {detail}.")
    if isinstance(err, (NoCredentialsError, PartialCredentialsError)):
        return VerifyError(f"No usable AWS credentials were found ({err}). Configure credentials for the stack's "
                           "account (AWS_PROFILE, an instance or task role, `aws sso login`) and run again.")
    return VerifyError(f"The AWS SDK failed on {action}: {err}.")


class _NoResponseBodies(logging.Filter):
    """Drops botocore's DEBUG record of a response body, which for GetSecretValue is the secret itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Response body")


@contextmanager
def _unlogged_response_bodies() -> Iterator[None]:
    # Only matters when an embedding program turns on botocore's DEBUG logging; the CLI never does.
    parsers = logging.getLogger("botocore.parsers")
    quiet = _NoResponseBodies()
    parsers.addFilter(quiet)
    try:
        yield
    finally:
        parsers.removeFilter(quiet)


def _addresses(interfaces: list[dict[str, Any]]) -> frozenset[IPAddress]:
    found: set[IPAddress] = set()
    for interface in interfaces:
        for private in interface.get("PrivateIpAddresses", []):
            found.add(ipaddress.ip_address(private["PrivateIpAddress"]))
        if "PrivateIpAddress" in interface:
            found.add(ipaddress.ip_address(interface["PrivateIpAddress"]))
        for v6 in interface.get("Ipv6Addresses", []):
            found.add(ipaddress.ip_address(v6["Ipv6Address"]))
    return frozenset(found)


class VerifyAws(GuardedClients):
    """Guarded clients for the stack's region and the few reads the check makes."""

    def __init__(self, session: boto3.Session | None, region: str):
        if session is None and (problem := settings_error(os.environ)):
            raise VerifyError(problem)
        with translated("loading the AWS configuration", _translate, _FAILURES):
            session = session or boto3.Session()
        super().__init__(session, region, config=_CONFIG, guard=refuse_others, translate=_translate,
                         failures=_FAILURES)

    def account_id(self) -> str:
        return str(self.call("sts", "get_caller_identity")["Account"])

    def vpc_networks(self, vpc_id: str) -> tuple[IPNetwork, ...] | None:
        """The VPC's associated IPv4 and IPv6 CIDRs; None when the VPC does not exist."""
        answer = self.call("ec2", "describe_vpcs", missing=frozenset({"InvalidVpcID.NotFound"}), VpcIds=[vpc_id])
        if not answer or not answer.get("Vpcs"):
            return None
        vpc = answer["Vpcs"][0]
        v4 = [a["CidrBlock"] for a in vpc.get("CidrBlockAssociationSet", [])
              if a.get("CidrBlockState", {}).get("State") == "associated"]
        v6 = [a["Ipv6CidrBlock"] for a in vpc.get("Ipv6CidrBlockAssociationSet", [])
              if a.get("Ipv6CidrBlockState", {}).get("State") == "associated"]
        return tuple(ipaddress.ip_network(cidr) for cidr in (v4 or [vpc["CidrBlock"]]) + v6)

    def endpoint_interfaces(self, endpoint_id: str) -> Interfaces | None:
        """The endpoint's network interfaces and their addresses; None when the endpoint does not exist."""
        answer = self.call("ec2", "describe_vpc_endpoints", missing=frozenset({"InvalidVpcEndpointId.NotFound"}),
                           VpcEndpointIds=[endpoint_id])
        if not answer or not answer.get("VpcEndpoints"):
            return None
        endpoint = answer["VpcEndpoints"][0]
        eni_ids = endpoint.get("NetworkInterfaceIds", [])
        interfaces = self.items("ec2", "describe_network_interfaces", "NetworkInterfaces",
                                 NetworkInterfaceIds=eni_ids) if eni_ids else []
        return Interfaces(f"VPC endpoint {endpoint_id}", endpoint["VpcId"], _addresses(interfaces))

    def network_load_balancers(self, vpc_id: str) -> dict[str, Interfaces]:
        """Every network load balancer in the VPC by scheme ("internal" or "internet-facing"), merged per scheme.

        An NLB's interfaces carry the description ``ELB net/<name>/<id>``, the tail of its ARN.
        """
        balancers = [lb for lb in self.items("elbv2", "describe_load_balancers", "LoadBalancers")
                     if lb.get("VpcId") == vpc_id and lb.get("Type") == "network"]
        by_scheme: dict[str, Interfaces] = {}
        for scheme in sorted({lb["Scheme"] for lb in balancers}):
            mine = [lb for lb in balancers if lb["Scheme"] == scheme]
            descriptions = ["ELB " + lb["LoadBalancerArn"].split(":loadbalancer/", 1)[1] for lb in mine]
            interfaces = self.items("ec2", "describe_network_interfaces", "NetworkInterfaces", Filters=[
                {"Name": "vpc-id", "Values": [vpc_id]},
                {"Name": "description", "Values": descriptions},
            ])
            names = ", ".join(lb["LoadBalancerName"] for lb in mine)
            by_scheme[scheme] = Interfaces(f"{scheme} NLB {names}", vpc_id, _addresses(interfaces))
        return by_scheme

    def secret_string(self, secret_arn: str) -> str | None:
        """The secret's current value (never logged or shown); None when the secret does not exist."""
        with _unlogged_response_bodies():
            answer = self.call("secretsmanager", "get_secret_value",
                               missing=frozenset({"ResourceNotFoundException"}), SecretId=secret_arn)
        if answer is None:
            return None
        if "SecretString" not in answer:
            # A binary secret: the stack writes a JSON string, so this is not the stack's secret.
            return ""
        return str(answer["SecretString"])
