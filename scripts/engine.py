"""Run the Pulumi program offline under the SDK's mock engine and record what the real engine would receive.

There is no Pulumi CLI or provider plugin on the machines this project is tested on, so the program runs in-process:
``pulumi.runtime.set_mocks`` with a monitor that records every registration (type, name, parent, provider, options,
and the inputs exactly as serialized, secret markers included) and mocks that answer with realistic provider outputs.
Tests and the offline policy gate (``scripts.preview``) both run the program through ``run_program``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import runpy
import sys
import uuid
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Optional

import pulumi
import yaml
from google.protobuf import struct_pb2
from pulumi.runtime import rpc, settings
from pulumi.runtime.mocks import MockMonitor

REPO = Path(__file__).resolve().parents[1]
UNSET = object()  # an override value that removes a key from the stack config


class StackFileError(Exception):
    """The stack's config file is missing or unreadable."""


@dataclass(frozen=True)
class RecordedResource:
    """One resource registration as the engine received it."""

    urn: str
    id: str
    type: str
    name: str
    custom: bool
    parent: str
    provider: str
    protect: bool
    retain_on_delete: bool
    delete_before_replace: bool
    ignore_changes: list[str]
    additional_secret_outputs: list[str]
    aliases: list[str]
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    inputs: dict[str, Any]
    wire: struct_pb2.Struct
    outputs: dict[str, Any] = field(default_factory=dict)


@dataclass
class ProgramRun:
    project: str
    stack: str
    config: dict[str, str]
    secret_keys: list[str]
    stack_urn: str
    resources: list[RecordedResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: set[str] = field(default_factory=set)
    outputs_wire: struct_pb2.Struct = field(default_factory=struct_pb2.Struct)
    error: Optional[str] = None

    @property
    def aws_region(self) -> str:
        return self.config.get("aws:region", "")

    def of_type(self, type_: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str) -> RecordedResource:
        found = self.of_type(type_)
        if len(found) != 1:
            raise AssertionError(f"expected exactly one {type_}, found {len(found)}")
        return found[0]


def unwrap_secrets(value: Any) -> Any:
    """Strip the SDK's secret markers, keeping the plain values inside."""
    if rpc.is_rpc_secret(value):
        return unwrap_secrets(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {k: unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(v) for v in value]
    return value


def _fake_id(prefix: str, seed: str, length: int = 17) -> str:
    """A stable, well-formed AWS-style ID, so repeated runs record identical values."""
    digest = f"{zlib.crc32(seed.encode()):08x}{zlib.crc32(seed[::-1].encode()):08x}{zlib.adler32(seed.encode()):08x}"
    return f"{prefix}-{digest[:length]}"


class OfflineMocks(pulumi.runtime.Mocks):
    """Answers registrations and invokes with outputs shaped like the real providers' (camelCase wire names)."""

    ACCOUNT_ID = "123456789012"

    def __init__(self, region: str, *, first_preview: bool = False):
        self.region = region
        # Like the engine previewing an empty stack: a new resource's computed outputs and ID are not known yet.
        self.first_preview = first_preview

    def call(self, args: pulumi.runtime.MockCallArgs):
        token, a = args.token, args.args
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": self.ACCOUNT_ID, "arn": f"arn:aws:iam::{self.ACCOUNT_ID}:user/offline", "userId": "AIDAOFFLINE", "id": self.ACCOUNT_ID}
        if token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "reverseDnsPrefix": "com.amazonaws", "id": "aws"}
        if token == "aws:index/getRegion:getRegion":
            return {"name": self.region, "region": self.region, "id": self.region, "endpoint": f"ec2.{self.region}.amazonaws.com"}
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            names = [f"{self.region}{s}" for s in "abcdef"]
            return {"names": names, "zoneIds": [f"use1-az{i}" for i in range(1, 7)], "id": self.region}
        if token == "aws:ec2/getVpc:getVpc":
            return {"id": a["id"], "cidrBlock": "10.90.0.0/16", "arn": self._arn("ec2", f"vpc/{a['id']}"), "enableDnsSupport": True, "enableDnsHostnames": True}
        if token == "aws:ec2/getSubnet:getSubnet":
            # Spread adopted subnets over zones by their ID so tests can model a real multi-AZ VPC.
            zone = "abc"[zlib.crc32(a["id"].encode()) % 3]
            return {"id": a["id"], "vpcId": self.adopted_vpc_id, "availabilityZone": f"{self.region}{zone}", "mapPublicIpOnLaunch": False, "cidrBlock": "10.90.0.0/20"}
        if token == "aws:ec2/getRouteTables:getRouteTables":
            # Each adopted subnet has its own explicitly associated table, the common layout for private subnets.
            subnet_filters = [f for f in a.get("filters") or [] if f["name"] == "association.subnet-id"]
            return {"ids": [_fake_id("rtb", v) for f in subnet_filters for v in f["values"]], "id": self.region}
        # Added for issue 12 (endpoint zones); belongs in scripts/offline/fakes.py's table once that exists.
        if token == "aws:ec2/getVpcEndpointService:getVpcEndpointService":
            # Like ClickHouse's services: three of the region's zones, not all.
            return {"serviceName": a.get("serviceName"), "availabilityZones": [f"{self.region}{s}" for s in "abc"],
                    "serviceType": "Interface", "owner": "amazon", "id": a.get("serviceName")}
        if token == "aws:lb/getHostedZoneId:getHostedZoneId":
            return {"id": "Z26RNL4JYFTOTI" if self.region == "us-east-1" else "Z" + _fake_id("z", self.region, 12)[2:].upper()}
        return {}

    adopted_vpc_id = ""

    def _arn(self, service: str, resource: str, region: Optional[str] = None) -> str:
        return f"arn:aws:{service}:{self.region if region is None else region}:{self.ACCOUNT_ID}:{resource}"

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        typ, name, inputs = args.typ, args.name, dict(args.inputs)
        if not args.custom:
            return f"{name}-component", {}
        if self.first_preview:
            return "", inputs
        outputs = self._outputs(typ, name, inputs)
        resource_id = outputs.pop("__id", None) or _fake_id(typ.split(":")[-1].lower()[:8], f"{typ}/{name}")
        return resource_id, {**inputs, **outputs}

    def _outputs(self, typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        seed = f"{typ}/{name}"
        if typ == "random:index/randomPassword:RandomPassword":
            # Deterministic and recognisable, so tests can search recorded values for any leak of it.
            fake = f"Offline-Pw_{zlib.crc32(seed.encode()):08x}-{zlib.adler32(seed.encode()):08x}"
            return {"result": fake, "bcryptHash": "$2a$10$offline"}
        if typ == "clickhouse:index/service:Service":
            service_id = str(uuid.uuid5(uuid.NAMESPACE_URL, seed))
            region = inputs.get("region", self.region)
            return {
                "__id": service_id,
                "privateEndpointConfig": {
                    "endpointServiceId": f"com.amazonaws.vpce.{region}.{_fake_id('vpce-svc', seed)}",
                    "privateDnsHostname": f"{service_id[:8]}.{region}.vpce.aws.clickhouse.cloud",
                },
                "endpoints": {"https": {"host": f"{service_id[:8]}.{region}.aws.clickhouse.cloud", "port": 8443}},
            }
        if typ == "aws:ec2/vpcEndpoint:VpcEndpoint" and inputs.get("vpcEndpointType") == "Gateway":
            vpce = _fake_id("vpce", seed)
            return {"__id": vpce, "arn": self._arn("ec2", f"vpc-endpoint/{vpce}"), "state": "available",
                    "prefixListId": _fake_id("pl", inputs.get("serviceName", seed), 8), "dnsEntries": []}
        if typ == "aws:ec2/vpcEndpoint:VpcEndpoint":
            vpce = _fake_id("vpce", seed)
            return {
                "__id": vpce,
                "arn": self._arn("ec2", f"vpc-endpoint/{vpce}"),
                "state": "available",
                "dnsEntries": [
                    {"dnsName": f"{vpce}-abcdefgh.vpce-svc.{self.region}.vpce.amazonaws.com", "hostedZoneId": "Z7HUB22UULQXV"},
                    {"dnsName": f"{vpce}-abcdefgh-{self.region}a.vpce-svc.{self.region}.vpce.amazonaws.com", "hostedZoneId": "Z7HUB22UULQXV"},
                ],
            }
        if typ == "aws:route53/zone:Zone":
            zone_id = "Z" + _fake_id("z", seed, 20)[2:].upper()
            return {"__id": zone_id, "zoneId": zone_id, "arn": f"arn:aws:route53:::hostedzone/{zone_id}", "nameServers": []}
        if typ == "aws:kms/key:Key":
            key_id = str(uuid.uuid5(uuid.NAMESPACE_URL, seed))
            return {"__id": key_id, "keyId": key_id, "arn": self._arn("kms", f"key/{key_id}")}
        if typ == "aws:secretsmanager/secret:Secret":
            return {"arn": self._arn("secretsmanager", f"secret:{inputs.get('name', name)}-AbCdEf")}
        if typ == "aws:cloudwatch/logGroup:LogGroup":
            return {"arn": self._arn("logs", f"log-group:{inputs.get('name', name)}")}
        if typ == "aws:iam/role:Role":
            return {"arn": f"arn:aws:iam::{self.ACCOUNT_ID}:role/{inputs.get('name', name)}", "uniqueId": _fake_id("AROA", seed)}
        if typ == "aws:ec2/vpc:Vpc":
            vpc_id = _fake_id("vpc", seed)
            return {"__id": vpc_id, "arn": self._arn("ec2", f"vpc/{vpc_id}"), "defaultSecurityGroupId": _fake_id("sg", seed + "/default")}
        if typ.startswith("aws:s3/bucket"):
            bucket = inputs.get("bucket", name)
            return {"arn": f"arn:aws:s3:::{bucket}", "bucket": bucket}
        prefix = {"aws:ec2/subnet:Subnet": "subnet", "aws:ec2/securityGroup:SecurityGroup": "sg", "aws:ec2/routeTable:RouteTable": "rtb"}.get(typ)
        if prefix:
            resource_id = _fake_id(prefix, seed)
            return {"__id": resource_id, "arn": self._arn("ec2", f"{prefix}/{resource_id}")}
        if typ.startswith("aws:"):
            service = typ.split(":")[1].split("/")[0]
            return {"arn": self._arn(service, f"{name}")}
        return {}


class RecordingMonitor(MockMonitor):
    """The SDK's mock monitor, also keeping every registration as the CLI's engine would see it."""

    def __init__(self, mocks: OfflineMocks):
        super().__init__(mocks)
        self.records: list[RecordedResource] = []

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        wire = struct_pb2.Struct()
        wire.CopyFrom(request.object)
        outputs = rpc.deserialize_properties(response.object) if response.object else {}
        self.records.append(RecordedResource(
            urn=response.urn,
            id=response.id,
            type=request.type,
            name=request.name,
            custom=bool(request.custom),
            parent=request.parent,
            provider=request.provider,
            protect=bool(request.protect),
            retain_on_delete=bool(request.retainOnDelete),
            delete_before_replace=bool(request.deleteBeforeReplace),
            ignore_changes=list(request.ignoreChanges),
            additional_secret_outputs=list(request.additionalSecretOutputs),
            aliases=[str(a) for a in request.aliasURNs],
            dependencies=list(request.dependencies),
            property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
            inputs=unwrap_secrets(rpc.deserialize_properties(request.object)),
            wire=wire,
            outputs=unwrap_secrets(outputs),
        ))
        return response


def _config_value(value: Any) -> str:
    """Encode a YAML/Python value the way the CLI hands config to a program: strings, JSON for structures."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def _project_file(project_dir: Path) -> dict[str, Any]:
    path = project_dir / "Pulumi.yaml"
    return _parse_project_file(str(path), path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _parse_project_file(path: str, _mtime_ns: int) -> dict[str, Any]:
    # Each gate run needs the project file several times; the modification time in the key keeps an edit visible.
    return yaml.safe_load(Path(path).read_text())


def project_name(project_dir: Path = REPO) -> str:
    return _project_file(project_dir)["name"]


def load_stack_config(
    stack: str, overrides: Optional[Mapping[str, Any]] = None, project_dir: Path = REPO
) -> tuple[dict[str, str], list[str]]:
    """The config the CLI would pass for ``stack``: project defaults, then the stack file, then ``overrides``.

    ``secure:`` values cannot be decrypted offline; they become placeholders that stay marked secret. So do secret
    keys the stack file leaves out (they are set per machine with ``pulumi config set --secret`` and never committed),
    unless ``overrides`` maps them to ``UNSET``.
    """
    project_file = _project_file(project_dir)
    project = project_file["name"]
    stack_path = project_dir / f"Pulumi.{stack}.yaml"
    if not stack_path.is_file():
        known = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in project_dir.glob("Pulumi.*.yaml"))
        raise StackFileError(f"no stack file {stack_path.name}; known stacks: {', '.join(known) or 'none'}")
    try:
        stack_values = (yaml.safe_load(stack_path.read_text()) or {}).get("config") or {}
    except yaml.YAMLError as err:
        raise StackFileError(f"{stack_path.name} is not valid YAML: {err}") from None

    def qualify(key: str) -> str:
        return key if ":" in key else f"{project}:{key}"

    config: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, decl in (project_file.get("config") or {}).items():
        if isinstance(decl, dict) and "default" in decl:
            config[qualify(key)] = _config_value(decl["default"])
    declared_secret = {qualify(name) for name in _secret_key_names(project_dir)}
    placeholders = {full: {"secure": None} for full in declared_secret}
    for key, value in {**placeholders, **stack_values, **(overrides or {})}.items():
        full = qualify(key)
        if value is UNSET:
            config.pop(full, None)
        elif isinstance(value, dict) and set(value) == {"secure"}:
            config[full] = f"offline-placeholder-{full.replace(':', '.')}"
        else:
            config[full] = _config_value(value)
        if full in config and (full in declared_secret or isinstance(value, dict) and set(value) == {"secure"}):
            secret_keys.append(full)
    return config, sorted(set(secret_keys))


def _secret_key_names(project_dir: Path) -> list[str]:
    """The program's secret config keys (declared in its stack_config.KEYS)."""
    if str(project_dir) not in sys.path:
        sys.path.insert(0, str(project_dir))
    import stack_config

    return [key.name for key in stack_config.KEYS if key.secret]


async def _resolve_outputs(outputs: Mapping[str, Any]) -> tuple[dict[str, Any], set[str], struct_pb2.Struct]:
    plain: dict[str, Any] = {}
    secret: set[str] = set()
    for name, value in outputs.items():
        out = pulumi.Output.from_input(value)
        plain[name] = await out.future()
        if await out.is_secret():
            secret.add(name)
    wire = await rpc.serialize_properties(dict(outputs), {})
    return plain, secret, wire


@contextmanager
def mock_session(
    project: str, stack: str, config: Mapping[str, str], secret_keys: list[str], mocks: OfflineMocks
) -> Iterator[tuple[RecordingMonitor, asyncio.AbstractEventLoop]]:
    """Install the mock engine with ``config`` on a fresh event loop; always restore a clean runtime afterwards."""
    monitor = RecordingMonitor(mocks)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    settings.reset_options()
    pulumi.runtime.set_all_config(dict(config), secret_keys)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=mocks.first_preview, monitor=monitor)
    try:
        yield monitor, loop
    finally:
        # Settle untracked tasks too (pulumi.log with a resource resolves its URN in one), as the language host
        # does before it exits; whatever cannot finish within the bound is cancelled rather than left dangling.
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        if pending:
            _, unfinished = loop.run_until_complete(asyncio.wait(pending, timeout=5))
            for task in unfinished:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*unfinished, return_exceptions=True))
        settings.reset_options()
        pulumi.runtime.set_all_config({}, [])
        loop.close()
        asyncio.set_event_loop(None)


def run_program(
    stack: str,
    overrides: Optional[Mapping[str, Any]] = None,
    *,
    project_dir: Path = REPO,
    mocks: Optional[OfflineMocks] = None,
    first_preview: bool = False,
) -> ProgramRun:
    """Run ``project_dir/__main__.py`` for ``stack`` under mocks; a user's config mistake lands in ``run.error``.

    With ``first_preview``, every computed output is unknown, as in ``pulumi preview`` of a stack not yet deployed.
    """
    config, secret_keys = load_stack_config(stack, overrides, project_dir)
    project = project_name(project_dir)
    mocks = mocks or OfflineMocks(config.get("aws:region", "us-east-1"), first_preview=first_preview)
    mocks.adopted_vpc_id = config.get(f"{project}:vpcId", "")
    run = ProgramRun(project, stack, config, secret_keys, f"urn:pulumi:{stack}::{project}::pulumi:pulumi:Stack::{project}-{stack}")
    if str(project_dir) not in sys.path:
        sys.path.insert(0, str(project_dir))
    with mock_session(project, stack, config, secret_keys, mocks) as (monitor, loop):
        try:
            runpy.run_path(str(project_dir / "__main__.py"), run_name="__main__")
            loop.run_until_complete(pulumi.runtime.stack.wait_for_rpcs())
            root = settings.get_root_resource()
            run.outputs, run.secret_outputs, run.outputs_wire = loop.run_until_complete(_resolve_outputs(root.outputs))
            run.resources = list(monitor.records)
        except pulumi.RunError as err:
            run.error = str(err)
            # Settle what was already scheduled (the root stack's registration) so nothing is left un-awaited.
            loop.run_until_complete(pulumi.runtime.stack.wait_for_rpcs())
    return run


@dataclass(frozen=True)
class Resolved:
    value: Any
    secret: bool


def run_inline(
    build: Callable[[], Mapping[str, Any]], config: Optional[Mapping[str, str]] = None, *, stack: str = "test",
    region: str = "us-east-1",
) -> tuple[dict[str, Resolved], list[RecordedResource]]:
    """Build components under mocks and resolve the Outputs ``build`` returns, with whether each is secret.

    For tests that need live Python objects (``Output.is_secret`` on a component's outputs) rather than a whole run.
    """
    mocks = OfflineMocks(region)
    with mock_session(project_name(), stack, {"aws:region": region, **(config or {})}, [], mocks) as (monitor, loop):
        wanted = build()

        async def resolve() -> dict[str, Resolved]:
            await pulumi.runtime.stack.wait_for_rpcs()
            results = {}
            for name, value in wanted.items():
                out = pulumi.Output.from_input(value)
                results[name] = Resolved(await out.future(), await out.is_secret())
            return results

        resolved = loop.run_until_complete(resolve())
        return resolved, list(monitor.records)
