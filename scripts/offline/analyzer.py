"""A client for the policy pack's gRPC Analyzer, run the way the Pulumi CLI runs it, and the requests the CLI sends.

``Analyzer`` starts ``python -u -m pulumi.policy <engine> policy`` as one subprocess (the CLI's own command line),
reads the port the pack prints, and talks to it with the SDK's ``AnalyzerStub``. It is a context manager: the
process is stopped on every way out of the ``with`` block, exceptions and Ctrl-C included. The request builders turn
the mock engine's ``RecordedResource`` records into ``AnalyzeRequest`` / ``AnalyzerResource`` messages, including the
default providers the CLI creates from stack config.
"""

from __future__ import annotations

import copy
import json
import os
import select
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

import grpc
import jsonschema
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime import rpc
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from scripts.project import REPO

PACK_DIR = REPO / "policy"
# pulumi.policy's entry point requires an engine address; the pack never dials it.
_ENGINE_PLACEHOLDER = "127.0.0.1:0"

LEVELS = {
    analyzer_pb2.ADVISORY: "advisory",
    analyzer_pb2.MANDATORY: "mandatory",
    analyzer_pb2.DISABLED: "disabled",
    analyzer_pb2.REMEDIATE: "remediate",
}
_LEVEL_VALUES = {name: value for value, name in LEVELS.items()}
SEVERITIES = {
    analyzer_pb2.POLICY_SEVERITY_UNSPECIFIED: "",
    analyzer_pb2.POLICY_SEVERITY_LOW: "low",
    analyzer_pb2.POLICY_SEVERITY_MEDIUM: "medium",
    analyzer_pb2.POLICY_SEVERITY_HIGH: "high",
    analyzer_pb2.POLICY_SEVERITY_CRITICAL: "critical",
}


class AnalyzerError(Exception):
    """The analyzer could not be started or failed to answer."""


class PolicyConfigError(Exception):
    """A policy pack config (the ``--policy-pack-config`` JSON) is malformed or does not match the pack's schema."""


@dataclass(frozen=True)
class Diagnostic:
    """One policy violation."""

    policy: str
    level: str
    urn: str
    message: str
    severity: str = ""
    source: str = "analyzer"

    def as_dict(self) -> dict[str, str]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class PolicyConfig:
    """The config the CLI sends a policy after reconciling defaults, ``all`` and the user's JSON."""

    level: str
    properties: dict[str, Any]


def analyzer_env(
    project: str,
    stack: str,
    config: Mapping[str, str],
    secret_keys: Iterable[str] = (),
    organization: str = "organization",
) -> dict[str, str]:
    """The environment the CLI gives a policy pack: stack config and identity, and dry-run (this is a preview)."""
    return {
        **os.environ,
        "PULUMI_CONFIG": json.dumps(dict(config)),
        "PULUMI_CONFIG_SECRET_KEYS": json.dumps(sorted(secret_keys)),
        "PULUMI_PROJECT": project,
        "PULUMI_STACK": stack,
        "PULUMI_DRY_RUN": "true",
        "PULUMI_ORGANIZATION": organization,
    }


class Analyzer:
    """The policy pack as a running Analyzer server, started on ``start()`` and usable after ``connect()``.

    Starting and connecting are separate so a caller can run the program while the pack boots.
    """

    def __init__(self, env: Optional[Mapping[str, str]] = None, *, pack_dir: Path = PACK_DIR, timeout: float = 30.0):
        self._env = dict(env) if env is not None else dict(os.environ)
        self._pack_dir = pack_dir
        self._timeout = timeout
        self._process: Optional[subprocess.Popen] = None
        self._stderr: Optional[Any] = None
        self._channel: Optional[grpc.Channel] = None
        self._stub: Optional[analyzer_pb2_grpc.AnalyzerStub] = None
        self._info: Optional[analyzer_pb2.AnalyzerInfo] = None
        # The config the running pack was last given (canonical JSON) and its reconciliation.
        self._configured: Optional[tuple[str, dict[str, PolicyConfig]]] = None
        self.levels: dict[str, str] = {}

    @property
    def pid(self) -> Optional[int]:
        return self._process.pid if self._process else None

    def start(self) -> "Analyzer":
        if self._process is not None:
            raise AnalyzerError("the analyzer is already running")
        self._stderr = tempfile.TemporaryFile()
        self._process = subprocess.Popen(
            [sys.executable, "-u", "-m", "pulumi.policy", _ENGINE_PLACEHOLDER, str(self._pack_dir)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=self._env,
            cwd=str(self._pack_dir),
            # Its own process group: a Ctrl-C at the terminal (or a runner's SIGINT to the job's group) reaches only
            # the process that owns the pack, which stops it in order, instead of killing it mid-call.
            process_group=0,
        )
        return self

    def connect(self) -> "Analyzer":
        """Wait for the port line and open the channel; a pack that dies or stays silent is an ``AnalyzerError``."""
        if self._stub is not None:
            return self
        if self._process is None:
            self.start()
        assert self._process is not None and self._process.stdout is not None
        ready, _, _ = select.select([self._process.stdout], [], [], self._timeout)
        line = self._process.stdout.readline().decode().strip() if ready else ""
        if not line.isdigit():
            reason = (f"printed {line!r} instead of its port" if line
                      else f"did not print its port within {self._timeout:.0f}s" if not ready
                      else "exited before printing its port")
            raise AnalyzerError(f"the policy pack {reason}.{self._stderr_tail()}")
        self._channel = grpc.insecure_channel(f"127.0.0.1:{line}")
        ready = grpc.channel_ready_future(self._channel)
        deadline = time.monotonic() + self._timeout
        # Poll so a pack that dies after printing its port is reported at once, not after the whole timeout.
        while True:
            try:
                ready.result(timeout=0.1)
                break
            except grpc.FutureTimeoutError:
                if self._process.poll() is not None:
                    raise AnalyzerError(f"the policy pack exited with code {self._process.returncode} before "
                                        f"accepting connections.{self._stderr_tail()}") from None
                if time.monotonic() > deadline:
                    raise AnalyzerError(f"the policy pack's port {line} did not accept a connection.") from None
        self._stub = analyzer_pb2_grpc.AnalyzerStub(self._channel)
        return self

    def stop(self) -> None:
        """Close the channel and end the process (terminate, then kill if it lingers). Safe to call twice."""
        if self._channel is not None:
            self._channel.close()
        self._channel = self._stub = None
        self._configured = None
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            if process.stdout is not None:
                process.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def __enter__(self) -> "Analyzer":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def _stderr_tail(self, limit: int = 2000) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        text = self._stderr.read().decode(errors="replace").strip()
        return f"\n--- policy pack stderr ---\n{text[-limit:]}" if text else ""

    def _call(self, method: str, request: Any) -> Any:
        self.connect()
        try:
            return getattr(self._stub, method)(request, timeout=self._timeout)
        except grpc.RpcError as err:
            raise self._failed(method, err) from None

    def _failed(self, method: str, err: grpc.RpcError) -> AnalyzerError:
        return AnalyzerError(f"{method} failed: {err.code().name}: {err.details()}{self._stderr_tail()}")

    def info(self) -> analyzer_pb2.AnalyzerInfo:
        if self._info is None:
            self._info = self._call("GetAnalyzerInfo", empty_pb2.Empty())
        return self._info

    def configure(self, given: Optional[Mapping[str, Any]] = None) -> dict[str, PolicyConfig]:
        """Send the pack ``given`` (``--policy-pack-config`` JSON) reconciled as the CLI does; returns the result.

        The config the running pack already has is not sent again: what the pack does after Configure depends only on
        the config, and a long-lived pack (the tests' one per worker) is reset to the same config again and again.
        """
        key = json.dumps(given or {}, sort_keys=True)
        if self._configured is not None and self._configured[0] == key:
            return dict(self._configured[1])
        reconciled = reconcile_config(self.info(), given or {})
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, config in reconciled.items():
            entry = request.policyConfig[name]
            entry.enforcementLevel = _LEVEL_VALUES[config.level]
            entry.properties.update(config.properties)
        self._configured = None  # a Configure that fails leaves the pack's config unknown
        self._call("Configure", request)
        self.levels = {name: config.level for name, config in reconciled.items()}
        self._configured = (key, dict(reconciled))
        return reconciled

    def configure_stack(self, project: str, stack: str, config: Mapping[str, str], secret_keys: Iterable[str]) -> None:
        self._call("ConfigureStack", analyzer_pb2.AnalyzerStackConfigureRequest(
            project=project, stack=stack, organization="organization", dry_run=True,
            config=dict(config), config_secret_keys=sorted(secret_keys),
        ))

    def analyze(self, request: analyzer_pb2.AnalyzeRequest) -> list[Diagnostic]:
        return self.analyze_later(request)()

    def analyze_later(self, request: analyzer_pb2.AnalyzeRequest) -> Callable[[], list[Diagnostic]]:
        """Send Analyze without waiting; the returned function waits for the diagnostics.

        Many may be in flight at once, as the CLI sends them for steps that run in parallel.
        """
        self.connect()
        assert self._stub is not None
        call = self._stub.Analyze.future(request, timeout=self._timeout)

        def diagnostics() -> list[Diagnostic]:
            try:
                return _diagnostics(call.result(), request.urn)
            except grpc.RpcError as err:
                raise self._failed("Analyze", err) from None

        return diagnostics

    def analyze_stack(
        self, resources: Sequence[analyzer_pb2.AnalyzerResource], stack_urn: str = ""
    ) -> list[Diagnostic]:
        request = analyzer_pb2.AnalyzeStackRequest(resources=resources)
        return _diagnostics(self._call("AnalyzeStack", request), stack_urn)


def _diagnostics(response: analyzer_pb2.AnalyzeResponse, default_urn: str) -> list[Diagnostic]:
    """Diagnostics with the URN filled in: a resource policy's findings belong to the analyzed resource."""
    return [
        Diagnostic(d.policyName, LEVELS.get(d.enforcementLevel, "unknown"), d.urn or default_urn, d.message,
                   SEVERITIES.get(d.severity, ""))
        for d in response.diagnostics
    ]


def _parse_entry(name: str, value: Any) -> tuple[Optional[str], dict[str, Any]]:
    """One entry of a policy pack config: an enforcement level, or an object with an optional one and properties."""
    if isinstance(value, str):
        if value not in _LEVEL_VALUES:
            raise PolicyConfigError(f"{name}: {value!r} is not a valid enforcement level "
                                    f"({', '.join(_LEVEL_VALUES)})")
        return value, {}
    if isinstance(value, Mapping):
        properties = dict(value)
        level = properties.pop("enforcementLevel", None)
        if level is not None and level not in _LEVEL_VALUES:
            raise PolicyConfigError(f"{name}: enforcementLevel {level!r} is not valid ({', '.join(_LEVEL_VALUES)})")
        return level, properties
    raise PolicyConfigError(f"{name}: {value!r} is not valid; it must be an enforcement level or an object")


@dataclass(frozen=True)
class _PolicySchema:
    level: str
    defaults: dict[str, Any]
    validator: Any  # jsonschema.Draft7Validator for the policy's properties


@lru_cache(maxsize=8)
def _policy_schemas(serialized_info: bytes) -> dict[str, _PolicySchema]:
    """Each policy's level, defaults and compiled config schema, parsed once per pack (keyed by its serialized info)."""
    info = analyzer_pb2.AnalyzerInfo.FromString(serialized_info)
    schemas = {}
    for policy in info.policies:
        properties = json_format.MessageToDict(policy.configSchema.properties)
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if policy.configSchema.required:
            schema["required"] = list(policy.configSchema.required)
        schemas[policy.name] = _PolicySchema(
            LEVELS[policy.enforcementLevel],
            {key: prop["default"] for key, prop in properties.items() if "default" in prop},
            jsonschema.Draft7Validator(schema),
        )
    return schemas


def reconcile_config(info: analyzer_pb2.AnalyzerInfo, given: Mapping[str, Any]) -> dict[str, PolicyConfig]:
    """The CLI's ReconcilePolicyPackConfig: schema defaults, then ``all``, then each policy's entry; then validate.

    Unlike the CLI, an entry for a policy the pack does not have is an error here, so a misspelt name cannot
    silently leave a policy at its default.
    """
    policies = _policy_schemas(info.SerializeToString(deterministic=True))
    result = {name: PolicyConfig(policy.level, copy.deepcopy(policy.defaults)) for name, policy in policies.items()}
    unknown = sorted(set(given) - set(policies) - {"all"})
    if unknown:
        raise PolicyConfigError(f"config for unknown policies: {', '.join(unknown)}")
    if "all" in given:
        level, _ = _parse_entry("all", given["all"])
        if level:
            result = {name: PolicyConfig(level, config.properties) for name, config in result.items()}
    for name, value in given.items():
        if name == "all":
            continue
        level, properties = _parse_entry(name, value)
        current = result[name]
        result[name] = PolicyConfig(level or current.level, {**current.properties, **properties})
    problems = []
    for name, policy in policies.items():
        for error in policy.validator.iter_errors(result[name].properties):
            where = ".".join(str(p) for p in error.absolute_path)
            problems.append(f"{name}: {where + ': ' if where else ''}{error.message}")
    if problems:
        raise PolicyConfigError("policy pack config does not match the pack's schema:\n  " + "\n  ".join(problems))
    return result


# --- requests from recorded resources ----------------------------------------------------------------------------


def plugin_version(package: str) -> str:
    """The version of the installed SDK for Pulumi package ``package`` (from its pulumi-plugin.json or wheel)."""
    return _plugin_versions().get(package, "")


@lru_cache(maxsize=None)
def _plugin_versions() -> dict[str, str]:
    """Every installed Pulumi SDK by package name. An SDK ships ``<module>/pulumi-plugin.json`` at the top of its
    wheel; when that file names no version, the wheel's version is the plugin's. Found by one look into each import
    directory rather than a walk over every installed file."""
    versions: dict[str, str] = {}
    for entry in map(Path, sys.path):
        for path in sorted(entry.glob("*/pulumi-plugin.json")) if entry.is_dir() else ():
            try:
                plugin = json.loads(path.read_text() or "{}")
            except (OSError, ValueError):
                continue
            name = plugin.get("name") if isinstance(plugin, dict) else None
            if isinstance(name, str) and name and name not in versions:
                versions[name] = str(plugin.get("version") or _distribution_version(path.parent.name))
    return versions


def _distribution_version(module: str) -> str:
    try:
        return metadata.version(module)
    except metadata.PackageNotFoundError:
        return ""


def secret(value: Any) -> dict[str, Any]:
    """``value`` wrapped the way the engine marks a secret on the wire."""
    return rpc.wrap_rpc_secret(value)


def to_struct(value: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(dict(value))
    return struct


@dataclass(frozen=True)
class ProviderResource:
    """A provider as the analyzer sees it: recorded (explicit) or synthesized from stack config (default)."""

    type: str
    urn: str
    name: str
    properties: struct_pb2.Struct

    def message(self) -> analyzer_pb2.AnalyzerProviderResource:
        return analyzer_pb2.AnalyzerProviderResource(type=self.type, urn=self.urn, name=self.name,
                                                      properties=self.properties)


class Providers:
    """Resolves a resource's provider reference the way the engine does, creating default providers on first use.

    Explicit providers are the ones ``note`` has seen; a program registers a provider before anything that uses it.
    """

    def __init__(self, project: str, stack: str, config: Mapping[str, str], secret_keys: Iterable[str]):
        self._project, self._stack, self._config = project, stack, dict(config)
        self._secret_keys = set(secret_keys)
        self._explicit: dict[str, Any] = {}
        self.defaults: dict[str, ProviderResource] = {}

    def note(self, resource: Any) -> None:
        if resource.type.startswith("pulumi:providers:"):
            self._explicit[resource.urn] = resource

    def _default(self, package: str) -> ProviderResource:
        if package not in self.defaults:
            version = plugin_version(package)
            name = f"default_{version.replace('.', '_')}" if version else "default"
            prefix = f"{package}:"
            properties: dict[str, Any] = {
                key[len(prefix):]: secret(value) if key in self._secret_keys else value
                for key, value in self._config.items() if key.startswith(prefix)
            }
            if version:
                properties["version"] = version
            urn = f"urn:pulumi:{self._stack}::{self._project}::pulumi:providers:{package}::{name}"
            self.defaults[package] = ProviderResource(f"pulumi:providers:{package}", urn, name, to_struct(properties))
        return self.defaults[package]

    def of(self, resource: Any) -> Optional[ProviderResource]:
        if resource.provider:
            urn = resource.provider.rsplit("::", 1)[0]
            recorded = self._explicit.get(urn)
            if recorded is None:
                raise AnalyzerError(f"{resource.urn} names provider {urn}, which the program did not register")
            return ProviderResource(recorded.type, recorded.urn, recorded.name, recorded.wire)
        package = resource.type.split(":", 1)[0]
        if not resource.custom or package == "pulumi":
            return None
        return self._default(package)


def resource_options(resource: Any) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=resource.protect,
        ignoreChanges=resource.ignore_changes,
        deleteBeforeReplace=resource.delete_before_replace,
        deleteBeforeReplaceDefined=resource.delete_before_replace,
        additionalSecretOutputs=resource.additional_secret_outputs,
        aliases=resource.aliases,
        parent=resource.parent,
    )


def _judged_fields(resource: Any, providers: Providers) -> dict[str, Any]:
    """What both Analyze and AnalyzeStack say of a resource: its inputs as serialized (secrets still marked), its
    options and its provider. One place, so the two calls can never judge different things."""
    provider = providers.of(resource)
    return {
        "type": resource.type,
        "properties": resource.wire,
        "urn": resource.urn,
        "name": resource.name,
        "options": resource_options(resource),
        "provider": provider.message() if provider else None,
    }


def analyze_request(resource: Any, providers: Providers) -> analyzer_pb2.AnalyzeRequest:
    """What the CLI sends to judge one resource."""
    return analyzer_pb2.AnalyzeRequest(**_judged_fields(resource, providers))


def stack_resources(run: Any, providers: Providers) -> list[analyzer_pb2.AnalyzerResource]:
    """The whole graph for AnalyzeStack: the root stack (its outputs), default providers, then every registration."""
    root = analyzer_pb2.AnalyzerResource(
        type="pulumi:pulumi:Stack",
        urn=run.stack_urn,
        name=run.stack_urn.rsplit("::", 1)[-1],
        properties=run.outputs_wire,
        options=analyzer_pb2.AnalyzerResourceOptions(),
    )
    resources = []
    for r in run.resources:
        resources.append(analyzer_pb2.AnalyzerResource(
            **_judged_fields(r, providers),
            parent=r.parent,
            dependencies=r.dependencies,
            propertyDependencies={k: analyzer_pb2.AnalyzerPropertyDependencies(urns=v)
                                  for k, v in r.property_dependencies.items()},
        ))
    # Built after the loop above, which is what creates the default providers the resources use.
    defaults = [
        analyzer_pb2.AnalyzerResource(type=p.type, urn=p.urn, name=p.name, properties=p.properties,
                                      options=analyzer_pb2.AnalyzerResourceOptions())
        for p in providers.defaults.values()
    ]
    return [root, *defaults, *resources]
