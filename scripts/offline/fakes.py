"""What the fake providers answer: a resource's ID and computed outputs, and the answers to invokes.

Plain data and functions with no Pulumi import, so every double shares one set of answers: the SDK's mock engine
(``scripts.offline.engine``) and provider doubles served over Pulumi's gRPC provider protocol. Values are derived from
the resource's type and name only, so repeated runs record identical IDs, ARNs and hostnames. Output names are the
providers' camelCase wire names.
"""

from __future__ import annotations

import functools
import uuid
import zlib
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

ACCOUNT_ID = "123456789012"

# The Route53 zone ID AWS gives network load balancers in us-east-1; other regions get a stable fake.
_NLB_ZONE_US_EAST_1 = "Z26RNL4JYFTOTI"
# The zone AWS answers for interface endpoint DNS names.
_VPCE_ZONE = "Z7HUB22UULQXV"
_ADOPTED_VPC_CIDR = "10.90.0.0/16"


def fake_id(prefix: str, seed: str, length: int = 17) -> str:
    """A stable, well-formed AWS-style ID, so repeated runs record identical values."""
    digest = f"{zlib.crc32(seed.encode()):08x}{zlib.crc32(seed[::-1].encode()):08x}{zlib.adler32(seed.encode()):08x}"
    return f"{prefix}-{digest[:length]}"


def default_id(typ: str, name: str) -> str:
    """The ID of a resource whose type has no ID of its own in ``resource_outputs``."""
    return fake_id(typ.split(":")[-1].lower()[:8], f"{typ}/{name}")


def arn(service: str, resource: str, region: str) -> str:
    return f"arn:aws:{service}:{region}:{ACCOUNT_ID}:{resource}"


# --- resources -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Resource:
    """One registration: what every fake may derive its answer from."""

    typ: str
    name: str
    inputs: Mapping[str, Any]
    region: str

    @property
    def seed(self) -> str:
        return f"{self.typ}/{self.name}"

    def arn(self, service: str, resource: str) -> str:
        return arn(service, resource, self.region)

    def named(self, key: str = "name") -> str:
        """The physical name the program gave (``key`` input), else the logical name."""
        return self.inputs.get(key, self.name)


Answer = tuple[Optional[str], dict[str, Any]]


def _random_password(r: _Resource) -> Answer:
    # Deterministic and recognisable, so tests can search recorded values for any leak of it.
    fake = f"Offline-Pw_{zlib.crc32(r.seed.encode()):08x}-{zlib.adler32(r.seed.encode()):08x}"
    return None, {"result": fake, "bcryptHash": "$2a$10$offline"}


def _clickhouse_service(r: _Resource) -> Answer:
    service_id = str(uuid.uuid5(uuid.NAMESPACE_URL, r.seed))
    region = r.inputs.get("region", r.region)
    return service_id, {
        "privateEndpointConfig": {
            "endpointServiceId": f"com.amazonaws.vpce.{region}.{fake_id('vpce-svc', r.seed)}",
            "privateDnsHostname": f"{service_id[:8]}.{region}.vpce.aws.clickhouse.cloud",
        },
        "endpoints": {"https": {"host": f"{service_id[:8]}.{region}.aws.clickhouse.cloud", "port": 8443}},
    }


def _vpc_endpoint(r: _Resource) -> Answer:
    vpce = fake_id("vpce", r.seed)
    common = {"arn": r.arn("ec2", f"vpc-endpoint/{vpce}"), "state": "available"}
    if r.inputs.get("vpcEndpointType") == "Gateway":
        return vpce, {**common, "prefixListId": fake_id("pl", r.inputs.get("serviceName", r.seed), 8), "dnsEntries": []}
    return vpce, {**common, "dnsEntries": [
        {"dnsName": f"{vpce}-abcdefgh.vpce-svc.{r.region}.vpce.amazonaws.com", "hostedZoneId": _VPCE_ZONE},
        {"dnsName": f"{vpce}-abcdefgh-{r.region}a.vpce-svc.{r.region}.vpce.amazonaws.com", "hostedZoneId": _VPCE_ZONE},
    ]}


def _hosted_zone(r: _Resource) -> Answer:
    zone_id = "Z" + fake_id("z", r.seed, 20)[2:].upper()
    return zone_id, {"zoneId": zone_id, "arn": f"arn:aws:route53:::hostedzone/{zone_id}", "nameServers": []}


def _kms_key(r: _Resource) -> Answer:
    key_id = str(uuid.uuid5(uuid.NAMESPACE_URL, r.seed))
    return key_id, {"keyId": key_id, "arn": r.arn("kms", f"key/{key_id}")}


def _secret(r: _Resource) -> Answer:
    return None, {"arn": r.arn("secretsmanager", f"secret:{r.named()}-AbCdEf")}


def _log_group(r: _Resource) -> Answer:
    return None, {"arn": r.arn("logs", f"log-group:{r.named()}")}


def _role(r: _Resource) -> Answer:
    return None, {"arn": f"arn:aws:iam::{ACCOUNT_ID}:role/{r.named()}", "uniqueId": fake_id("AROA", r.seed)}


def _vpc(r: _Resource) -> Answer:
    vpc_id = fake_id("vpc", r.seed)
    return vpc_id, {"arn": r.arn("ec2", f"vpc/{vpc_id}"), "defaultSecurityGroupId": fake_id("sg", r.seed + "/default")}


def _ec2_resource(prefix: str, r: _Resource) -> Answer:
    resource_id = fake_id(prefix, r.seed)
    return resource_id, {"arn": r.arn("ec2", f"{prefix}/{resource_id}")}


def _s3_bucket_resource(r: _Resource) -> Answer:
    # The bucket and every bucket-configuration resource, which name their bucket in the same input.
    bucket = r.named("bucket")
    return None, {"arn": f"arn:aws:s3:::{bucket}", "bucket": bucket}


def _cloudformation_stack(r: _Resource) -> Answer:
    # CloudFormation's stack ID is an ARN ending in a UUID; the template's outputs are unknown offline.
    stack_id = r.arn("cloudformation", f"stack/{r.named()}/{uuid.uuid5(uuid.NAMESPACE_URL, r.seed)}")
    return stack_id, {"outputs": {}}


def _sns_topic(r: _Resource) -> Answer:
    topic_arn = r.arn("sns", r.named())
    return topic_arn, {"arn": topic_arn}


def _sns_subscription(r: _Resource) -> Answer:
    subscription_arn = f"{r.inputs.get('topic', r.arn('sns', r.name))}:{uuid.uuid5(uuid.NAMESPACE_URL, r.seed)}"
    return subscription_arn, {"arn": subscription_arn, "pendingConfirmation": True}


def _metric_alarm(r: _Resource) -> Answer:
    return r.named(), {"arn": r.arn("cloudwatch", f"alarm:{r.named()}")}


def _dashboard(r: _Resource) -> Answer:
    name = r.named("dashboardName")
    return name, {"dashboardArn": f"arn:aws:cloudwatch::{ACCOUNT_ID}:dashboard/{name}"}


def _amp_workspace(r: _Resource) -> Answer:
    workspace_id = f"ws-{uuid.uuid5(uuid.NAMESPACE_URL, r.seed)}"
    return workspace_id, {
        "arn": r.arn("aps", f"workspace/{workspace_id}"),
        "prometheusEndpoint": f"https://aps-workspaces.{r.region}.amazonaws.com/workspaces/{workspace_id}/",
    }


def _ecs_cluster(r: _Resource) -> Answer:
    cluster_arn = r.arn("ecs", f"cluster/{r.named()}")
    return cluster_arn, {"arn": cluster_arn}


def _ecs_task_definition(r: _Resource) -> Answer:
    family = r.named("family")
    return family, {"arn": r.arn("ecs", f"task-definition/{family}:1"),
                    "arnWithoutRevision": r.arn("ecs", f"task-definition/{family}"), "revision": 1}


def _ecs_service(r: _Resource) -> Answer:
    cluster = str(r.inputs.get("cluster", "cluster")).rsplit("/", 1)[-1]
    service_arn = r.arn("ecs", f"service/{cluster}/{r.named()}")
    return service_arn, {"arn": service_arn}


def _aws_resource(r: _Resource) -> Answer:
    service = r.typ.split(":")[1].split("/")[0]
    return None, {"arn": r.arn(service, r.name)}


_RESOURCES: dict[str, Callable[[_Resource], Answer]] = {
    "random:index/randomPassword:RandomPassword": _random_password,
    "clickhouse:index/service:Service": _clickhouse_service,
    "aws:ec2/vpcEndpoint:VpcEndpoint": _vpc_endpoint,
    "aws:route53/zone:Zone": _hosted_zone,
    "aws:kms/key:Key": _kms_key,
    "aws:secretsmanager/secret:Secret": _secret,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:iam/role:Role": _role,
    "aws:ec2/vpc:Vpc": _vpc,
    "aws:cloudformation/stack:Stack": _cloudformation_stack,
    "aws:ec2/subnet:Subnet": functools.partial(_ec2_resource, "subnet"),
    "aws:ec2/securityGroup:SecurityGroup": functools.partial(_ec2_resource, "sg"),
    "aws:ec2/routeTable:RouteTable": functools.partial(_ec2_resource, "rtb"),
    "aws:sns/topic:Topic": _sns_topic,
    "aws:sns/topicSubscription:TopicSubscription": _sns_subscription,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _metric_alarm,
    "aws:cloudwatch/dashboard:Dashboard": _dashboard,
    "aws:amp/workspace:Workspace": _amp_workspace,
    "aws:ecs/cluster:Cluster": _ecs_cluster,
    "aws:ecs/taskDefinition:TaskDefinition": _ecs_task_definition,
    "aws:ecs/service:Service": _ecs_service,
}
# Types without an entry above, by type prefix; the first match answers.
_RESOURCE_FAMILIES: tuple[tuple[str, Callable[[_Resource], Answer]], ...] = (
    ("aws:s3/bucket", _s3_bucket_resource),
    ("aws:", _aws_resource),
)


def resource_outputs(typ: str, name: str, inputs: Mapping[str, Any], region: str) -> Answer:
    """The ID (None: use ``default_id``) and the provider-computed outputs of a new resource, without its inputs."""
    fake = _RESOURCES.get(typ) or next((f for prefix, f in _RESOURCE_FAMILIES if typ.startswith(prefix)), None)
    return fake(_Resource(typ, name, inputs, region)) if fake else (None, {})


# --- invokes -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Invoke:
    args: Mapping[str, Any]
    region: str
    # The VPC the stack adopts (its vpcId config): adopted subnets belong to it.
    adopted_vpc_id: str


def _caller_identity(q: _Invoke) -> dict[str, Any]:
    return {"accountId": ACCOUNT_ID, "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/offline", "userId": "AIDAOFFLINE",
            "id": ACCOUNT_ID}


def _partition(q: _Invoke) -> dict[str, Any]:
    return {"partition": "aws", "dnsSuffix": "amazonaws.com", "reverseDnsPrefix": "com.amazonaws", "id": "aws"}


def _region(q: _Invoke) -> dict[str, Any]:
    return {"name": q.region, "region": q.region, "id": q.region, "endpoint": f"ec2.{q.region}.amazonaws.com"}


def _availability_zones(q: _Invoke) -> dict[str, Any]:
    return {"names": [f"{q.region}{s}" for s in "abcdef"], "zoneIds": [f"use1-az{i}" for i in range(1, 7)],
            "id": q.region}


def _vpc_lookup(q: _Invoke) -> dict[str, Any]:
    vpc_id = q.args["id"]
    return {"id": vpc_id, "cidrBlock": _ADOPTED_VPC_CIDR, "arn": arn("ec2", f"vpc/{vpc_id}", q.region),
            "enableDnsSupport": True, "enableDnsHostnames": True}


def _subnet_lookup(q: _Invoke) -> dict[str, Any]:
    subnet_id = q.args["id"]
    # Spread adopted subnets over zones by their ID so tests can model a real multi-AZ VPC.
    zone = "abc"[zlib.crc32(subnet_id.encode()) % 3]
    return {"id": subnet_id, "vpcId": q.adopted_vpc_id, "availabilityZone": f"{q.region}{zone}",
            "mapPublicIpOnLaunch": False, "cidrBlock": "10.90.0.0/20"}


def _route_tables(q: _Invoke) -> dict[str, Any]:
    # Each adopted subnet has its own explicitly associated table, the common layout for private subnets.
    subnets = [v for f in q.args.get("filters") or [] if f["name"] == "association.subnet-id" for v in f["values"]]
    return {"ids": [fake_id("rtb", subnet_id) for subnet_id in subnets], "id": q.region}


def _endpoint_service(q: _Invoke) -> dict[str, Any]:
    # Like ClickHouse's endpoint services: three of the region's zones, not all of them.
    name = q.args.get("serviceName")
    return {"serviceName": name, "availabilityZones": [f"{q.region}{s}" for s in "abc"], "serviceType": "Interface",
            "owner": ACCOUNT_ID, "id": name}


def _nlb_hosted_zone(q: _Invoke) -> dict[str, Any]:
    if q.region == "us-east-1":
        return {"id": _NLB_ZONE_US_EAST_1}
    return {"id": "Z" + fake_id("z", q.region, 12)[2:].upper()}


_INVOKES: dict[str, Callable[[_Invoke], dict[str, Any]]] = {
    "aws:index/getCallerIdentity:getCallerIdentity": _caller_identity,
    "aws:index/getPartition:getPartition": _partition,
    "aws:index/getRegion:getRegion": _region,
    "aws:index/getAvailabilityZones:getAvailabilityZones": _availability_zones,
    "aws:ec2/getVpc:getVpc": _vpc_lookup,
    "aws:ec2/getSubnet:getSubnet": _subnet_lookup,
    "aws:ec2/getRouteTables:getRouteTables": _route_tables,
    "aws:ec2/getVpcEndpointService:getVpcEndpointService": _endpoint_service,
    "aws:lb/getHostedZoneId:getHostedZoneId": _nlb_hosted_zone,
}


def invoke(token: str, args: Mapping[str, Any], region: str, *, adopted_vpc_id: str = "") -> dict[str, Any]:
    """The answer to invoke ``token`` (a new dict each call; empty for an unknown token)."""
    answer = _INVOKES.get(token)
    return answer(_Invoke(args, region, adopted_vpc_id)) if answer else {}
