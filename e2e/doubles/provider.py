"""A resource provider double served over Pulumi's real ResourceProvider gRPC protocol.

The Pulumi CLI starts a ``pulumi-resource-<package>`` executable from PATH, reads the port it prints on stdout and
drives it exactly as it drives the real provider: CheckConfig/Configure, Check, Diff, Create, Read, Update, Delete
and Invoke. What a double answers comes from ``scripts.offline.fakes``, the same table the offline engine uses, so a
resource deployed through the CLI gets the same ID, ARNs and hostnames the offline gate recorded.

What a double models of the real provider, because the engine's behaviour depends on it:

- Diff compares the old inputs with the new ones; a change to a property the real provider forces a new resource on
  is a replacement, an unknown value (preview) counts as a change.
- Outputs are the inputs plus the computed values; an input that arrived secret stays secret, and so do the outputs
  the real provider's schema marks secret.
- Read (``pulumi refresh``) finds no drift: the cloud holds what the state says.
"""

from __future__ import annotations

import os
import sys
from concurrent import futures
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Callable, Mapping, Optional

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime import rpc
from pulumi.runtime.proto import plugin_pb2, provider_pb2, provider_pb2_grpc

from scripts.offline import fakes
from scripts.offline.engine import unwrap_secrets as unwrap

Computed = Callable[[str, str, Mapping[str, Any], str, Optional[Mapping[str, Any]]], tuple[str, dict[str, Any]]]


def shared_fakes(typ: str, name: str, inputs: Mapping[str, Any], region: str,
                 olds: Optional[Mapping[str, Any]] = None) -> tuple[str, dict[str, Any]]:
    """ID and computed outputs from the offline engine's table; an update keeps the ID it had."""
    resource_id, outputs = fakes.resource_outputs(typ, name, inputs, region)
    return resource_id or fakes.default_id(typ, name), outputs


@dataclass(frozen=True)
class Package:
    """What a double needs to know about the provider it stands in for."""

    name: str
    # The Python SDK distribution whose version the double reports, so the engine sees the version the SDK asks for.
    sdk_distribution: str
    # Per resource type, the input properties the real provider cannot change in place (Terraform ForceNew).
    force_new: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # Types whose every input forces a new resource (pulumi-random: all of a random value's inputs are ForceNew).
    all_force_new: frozenset[str] = frozenset()
    # Per resource type, the outputs the real provider's schema marks secret (the SDK's additional_secret_outputs).
    secret_outputs: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # Configure fails, as the real provider does, when one of these has neither a config value nor its variable.
    required_config: Mapping[str, str] = field(default_factory=dict)
    computed: Computed = shared_fakes
    region_key: str = ""

    @property
    def version(self) -> str:
        return metadata.version(self.sdk_distribution)


def _plain(struct: struct_pb2.Struct) -> dict[str, Any]:
    return json_format.MessageToDict(struct)


def _struct(value: Mapping[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(dict(value))
    return out


def has_unknown(value: Any) -> bool:
    if value == rpc.UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(has_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(has_unknown(v) for v in value)
    return False


def resource_name(urn: str, name: str = "") -> str:
    return name or urn.rsplit("::", 1)[-1]


def resource_type(urn: str, typ: str = "") -> str:
    return typ or urn.rsplit("::", 2)[-2].rsplit("$", 1)[-1]


class DoubleProvider(provider_pb2_grpc.ResourceProviderServicer):
    """The gRPC servicer for one package."""

    def __init__(self, package: Package):
        self.package = package
        self.config: dict[str, Any] = {}
        self.region = ""
        # VPCs looked up by ID: the subnets the program looks up next belong to the VPC it adopts.
        self.adopted_vpc_id = ""

    # --- plugin and provider configuration ---------------------------------------------------------------------

    def GetPluginInfo(self, request, context):
        return plugin_pb2.PluginInfo(version=self.package.version)

    def GetSchema(self, request, context):
        return provider_pb2.GetSchemaResponse(
            schema=f'{{"name": "{self.package.name}", "version": "{self.package.version}"}}')

    def CheckConfig(self, request, context):
        return provider_pb2.CheckResponse(inputs=request.news)

    def DiffConfig(self, request, context):
        changed = _changed_keys(_plain(request.old_inputs if request.HasField("old_inputs") else request.olds),
                                _plain(request.news), ignore=("version",))
        return provider_pb2.DiffResponse(
            changes=provider_pb2.DiffResponse.DIFF_SOME if changed else provider_pb2.DiffResponse.DIFF_NONE,
            diffs=sorted(changed))

    def Configure(self, request, context):
        prefix = f"{self.package.name}:"
        variables = {k[len(prefix):] if k.startswith(prefix) else k: v for k, v in request.variables.items()}
        self.config = {**variables, **unwrap(_plain(request.args))}
        missing = [f"{prefix}{key} (or {env})" for key, env in self.package.required_config.items()
                   if not self.config.get(key) and not os.environ.get(env)]
        if missing:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                          f"{self.package.name} provider is not configured: set {', '.join(missing)}")
        if self.package.region_key:
            self.region = str(self.config.get(self.package.region_key) or "")
            if not self.region:
                context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                              f"{self.package.name} provider needs a region: set {prefix}{self.package.region_key}")
        return provider_pb2.ConfigureResponse(acceptSecrets=True, acceptResources=True, supportsPreview=False)

    def Invoke(self, request, context):
        args = unwrap(_plain(request.args))
        if request.tok == "aws:ec2/getVpc:getVpc" and args.get("id"):
            self.adopted_vpc_id = args["id"]
        answer = fakes.invoke(request.tok, args, self._region(args), adopted_vpc_id=self.adopted_vpc_id)
        return provider_pb2.InvokeResponse(**{"return": _struct(answer)})

    def Cancel(self, request, context):
        return empty_pb2.Empty()

    # --- resources ---------------------------------------------------------------------------------------------

    def Check(self, request, context):
        return provider_pb2.CheckResponse(inputs=request.news)

    def Diff(self, request, context):
        typ = resource_type(request.urn, request.type)
        olds = _plain(request.old_inputs if request.HasField("old_inputs") else request.olds)
        news = _plain(request.news)
        changed = _changed_keys(olds, news, ignore=tuple(request.ignoreChanges))
        force_new = self.package.force_new.get(typ, frozenset())
        replaces = sorted(k for k in changed if typ in self.package.all_force_new or k in force_new)
        detailed = {
            key: provider_pb2.PropertyDiff(
                kind=_diff_kind(key in olds, key in news, key in replaces), inputDiff=True)
            for key in changed
        }
        return provider_pb2.DiffResponse(
            changes=provider_pb2.DiffResponse.DIFF_SOME if changed else provider_pb2.DiffResponse.DIFF_NONE,
            diffs=sorted(changed), replaces=replaces, detailedDiff=detailed, hasDetailedDiff=True)

    def Create(self, request, context):
        typ, name = resource_type(request.urn, request.type), resource_name(request.urn, request.name)
        inputs = _plain(request.properties)
        resource_id, computed = self.package.computed(typ, name, unwrap(inputs), self._region(unwrap(inputs)), None)
        return provider_pb2.CreateResponse(id=resource_id, properties=self._outputs(typ, inputs, computed))

    def Read(self, request, context):
        typ, name = resource_type(request.urn, request.type), resource_name(request.urn, request.name)
        if request.properties.fields:
            return provider_pb2.ReadResponse(id=request.id, properties=request.properties, inputs=request.inputs)
        # A lookup of an existing resource by ID (Resource.get): answer what the fakes say such a resource has.
        _, computed = self.package.computed(typ, name, {}, self.region, None)
        return provider_pb2.ReadResponse(id=request.id, properties=self._outputs(typ, {}, computed))

    def Update(self, request, context):
        typ, name = resource_type(request.urn, request.type), resource_name(request.urn, request.name)
        news, olds = _plain(request.news), unwrap(_plain(request.olds))
        _, computed = self.package.computed(typ, name, unwrap(news), self._region(unwrap(news)), olds)
        return provider_pb2.UpdateResponse(properties=self._outputs(typ, news, computed))

    def Delete(self, request, context):
        return empty_pb2.Empty()

    # --- helpers -----------------------------------------------------------------------------------------------

    def _region(self, inputs: Mapping[str, Any]) -> str:
        # AWS provider v7 resources and invokes take an optional per-resource region; the provider's otherwise.
        return str(inputs.get("region") or self.region)

    def _outputs(self, typ: str, inputs: Mapping[str, Any], computed: Mapping[str, Any]) -> struct_pb2.Struct:
        secret = self.package.secret_outputs.get(typ, frozenset())
        merged = {**inputs, **computed}
        return _struct({k: rpc.wrap_rpc_secret(v) if k in secret else v for k, v in merged.items()})


def _changed_keys(olds: Mapping[str, Any], news: Mapping[str, Any], ignore: tuple[str, ...] = ()) -> set[str]:
    """Top-level input properties whose value differs, secretness aside; an unknown new value is a change."""
    keys = (set(olds) | set(news)) - set(ignore)
    return {k for k in keys if has_unknown(news.get(k)) or unwrap(olds.get(k)) != unwrap(news.get(k))}


def _diff_kind(in_old: bool, in_new: bool, replace: bool) -> int:
    kinds = provider_pb2.PropertyDiff
    if not in_old:
        return kinds.ADD_REPLACE if replace else kinds.ADD
    if not in_new:
        return kinds.DELETE_REPLACE if replace else kinds.DELETE
    return kinds.UPDATE_REPLACE if replace else kinds.UPDATE


def serve(package: Package) -> None:
    """Serve ``package`` on a free loopback port, print the port as every plugin does, and run until killed."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8),
                         options=[("grpc.max_receive_message_length", 400 * 1024 * 1024)])
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(DoubleProvider(package), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    server.wait_for_termination()
