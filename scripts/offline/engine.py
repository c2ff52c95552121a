"""Run the Pulumi program offline under the SDK's mock engine and record what the real engine would receive.

There is no Pulumi CLI or provider plugin on the machines this project is tested on, so the program runs in-process:
``pulumi.runtime.set_mocks`` with a monitor that records every registration (type, name, parent, provider, options,
and the inputs exactly as serialized, secret markers included) and mocks that answer with realistic provider outputs.
Tests and the offline policy gate (``scripts.preview``) both run the program through ``run_program``; the fake
providers' answers live in ``scripts.offline.fakes``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import runpy
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Optional

import pulumi
import yaml
from google.protobuf import struct_pb2
from pulumi.runtime import rpc, settings
from pulumi.runtime.mocks import MockMonitor

from scripts.offline import fakes, stack_yaml
from scripts.project import REPO, stack_file, stack_names

UNSET = object()  # an override value that removes a key from the stack config
# Provider settings every operator makes on their own machine (README: `pulumi config set clickhouse:organizationId`),
# never in a committed stack file; offline they take a well-formed stand-in, as secrets do.
PER_MACHINE_PLACEHOLDERS = {"clickhouse:organizationId": "00000000-0000-4000-8000-000000000000"}


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


def _alias_urn(urn: str, alias: Any) -> str:
    """The old URN an alias stands for. The SDK sends alias specs when the monitor supports them; the program's only
    give an old name (same type, parent, stack and project), so only the name is replaced."""
    if alias.WhichOneof("alias") == "urn":
        return alias.urn
    prefix, _, name = urn.rpartition("::")
    return f"{prefix}::{alias.spec.name or name}"


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


class OfflineMocks(pulumi.runtime.Mocks):
    """Answers registrations and invokes with the fake providers' outputs (``scripts.offline.fakes``)."""

    ACCOUNT_ID = fakes.ACCOUNT_ID

    def __init__(self, region: str, *, first_preview: bool = False):
        self.region = region
        # Like the engine previewing an empty stack: a new resource's computed outputs and ID are not known yet.
        self.first_preview = first_preview
        # The stack's vpcId config, which adopted subnets report as their VPC; set by run_program.
        self.adopted_vpc_id = ""

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        return fakes.invoke(args.token, args.args, self.region, adopted_vpc_id=self.adopted_vpc_id)

    def resource_outputs(self, typ: str, name: str, inputs: dict[str, Any]) -> tuple[Optional[str], dict[str, Any]]:
        """The ID (None for the default) and computed outputs of a new custom resource; tests override this."""
        return fakes.resource_outputs(typ, name, inputs, self.region)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        typ, name, inputs = args.typ, args.name, dict(args.inputs)
        if not args.custom:
            return f"{name}-component", {}
        if self.first_preview:
            return "", inputs
        resource_id, outputs = self.resource_outputs(typ, name, inputs)
        return resource_id or fakes.default_id(typ, name), {**inputs, **outputs}


class RecordingMonitor(MockMonitor):
    """The SDK's mock monitor, also keeping every registration as the CLI's engine would see it.

    ``on_record`` sees each record as it is made, on the monitor's thread, while the program continues.
    """

    def __init__(self, mocks: OfflineMocks, on_record: Optional[Callable[[RecordedResource], None]] = None):
        super().__init__(mocks)
        self.records: list[RecordedResource] = []
        self._on_record = on_record

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """The URN the engine gives: a child's type is qualified with its parent's whole type chain, and the root
        stack is never part of it (the SDK's mock prefixes only the parent's last type, the stack's included)."""
        parent_type = parent.split("::")[2] if parent else ""
        if parent_type and parent_type != "pulumi:pulumi:Stack":
            type_ = f"{parent_type}${type_}"
        return f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{type_}::{name}"

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        wire = struct_pb2.Struct()
        wire.CopyFrom(request.object)
        outputs = rpc.deserialize_properties(response.object) if response.object else {}
        record = RecordedResource(
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
            aliases=[str(a) for a in request.aliasURNs] + [_alias_urn(response.urn, a) for a in request.aliases],
            dependencies=list(request.dependencies),
            property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
            inputs=unwrap_secrets(rpc.deserialize_properties(request.object)),
            wire=wire,
            outputs=unwrap_secrets(outputs),
        )
        self.records.append(record)
        if self._on_record is not None:
            self._on_record(record)
        return response


def _project_file(project_dir: Path) -> dict[str, Any]:
    path = project_dir / "Pulumi.yaml"
    return _parse_project_file(str(path), path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _parse_project_file(path: str, _mtime_ns: int) -> dict[str, Any]:
    # Each gate run needs the project file several times; the modification time in the key keeps an edit visible.
    return stack_yaml.load(Path(path).read_text(encoding="utf-8"))


def project_name(project_dir: Path = REPO) -> str:
    return _project_file(project_dir)["name"]


def load_stack_config(
    stack: str, overrides: Optional[Mapping[str, Any]] = None, project_dir: Path = REPO
) -> tuple[dict[str, str], list[str]]:
    """The config the CLI would pass for ``stack``: project defaults, then the stack file, then ``overrides``.

    ``secure:`` values cannot be decrypted offline; they become placeholders that stay marked secret. So do secret
    keys the stack file leaves out (they are set per machine with ``pulumi config set --secret`` and never committed),
    unless ``overrides`` maps them to ``UNSET``; an override of a secret key stands for such a setting too. A secret
    key written in plain text in the stack file is passed as the CLI would pass it: not secret.
    """
    project_file = _project_file(project_dir)
    project = project_file["name"]
    known = stack_names(project_dir)
    if stack not in known:
        raise StackFileError(f"no stack file Pulumi.{stack}.yaml; known stacks: {', '.join(known) or 'none'}")
    stack_values = _stack_file_config(stack_file(stack, project_dir))

    def qualify(key: str) -> str:
        return key if ":" in key else f"{project}:{key}"

    config: dict[str, str] = {}
    objects: set[str] = set()  # keys the CLI keeps as objects (JSON text), as opposed to plain strings
    secret_keys: list[str] = []
    for key, decl in (project_file.get("config") or {}).items():
        if isinstance(decl, dict) and "default" in decl:
            config[qualify(key)] = stack_yaml.config_text(decl["default"])
            if stack_yaml.is_object(decl["default"]):
                objects.add(qualify(key))
    declared_secret = {qualify(name) for name in _secret_key_names(project_dir)}
    placeholders = {**PER_MACHINE_PLACEHOLDERS, **{full: {"secure": None} for full in declared_secret}}
    values = {qualify(key): (value, False) for key, value in {**placeholders, **stack_values}.items()}
    values |= {qualify(key): (value, True) for key, value in (overrides or {}).items()}
    for full, (value, overridden) in values.items():
        secure = isinstance(value, dict) and set(value) == {"secure"}
        objects.discard(full)
        if value is UNSET:
            config.pop(full, None)
        elif secure:
            config[full] = f"offline-placeholder-{full.replace(':', '.')}"
        else:
            try:
                config[full] = stack_yaml.config_text(value)
            except stack_yaml.StackYamlError as err:
                raise StackFileError(f"{stack_file(stack, project_dir).name}: {full}: {err}") from None
            if stack_yaml.is_object(value):
                objects.add(full)
        if full in config and (secure or overridden and full in declared_secret):
            secret_keys.append(full)
    _check_declared_types(stack, project_file, config, objects)
    return config, sorted(set(secret_keys))


def _check_declared_types(stack: str, project_file: Mapping[str, Any], config: Mapping[str, str],
                          objects: set[str]) -> None:
    """The CLI's check of each value against the type Pulumi.yaml declares for its key, in the CLI's order and words
    (pulumi/pkg workspace/config.go ``validateStackConfigValues``): it stops at the first key that fails. An object's
    JSON text is checked as the structure it holds; any other value as the string it is, even one that looks like
    JSON."""
    project = project_file["name"]
    declarations = project_file.get("config") or {}
    for key in sorted(declarations):
        decl = declarations[key]
        if not isinstance(decl, dict) or "type" not in decl:
            continue
        full = key if ":" in key else f"{project}:{key}"
        if full not in config:
            continue
        content = json.loads(config[full]) if full in objects else config[full]
        if not _of_declared_type(decl["type"], decl.get("items"), content):
            raise StackFileError(f"Stack '{stack}' with configuration key '{key}' must be of type "
                                 f"'{_type_name(decl['type'], decl.get('items'))}'")


def _of_declared_type(type_: str, items: Optional[Mapping[str, Any]], value: Any) -> bool:
    """pulumi/sdk workspace/project.go ``ValidateConfigValue``."""
    if type_ == "string":
        return isinstance(value, str)
    if type_ == "integer":
        if isinstance(value, str):
            return re.fullmatch(r"[-+]?[0-9]+", value) is not None and -(2**63) <= int(value) < 2**63
        return not isinstance(value, bool) and isinstance(value, (int, float)) and float(value).is_integer()
    if type_ == "boolean":
        return value in ("true", "false") or isinstance(value, bool)
    if type_ == "object":
        return isinstance(value, dict)
    return isinstance(value, list) and items is not None and all(
        _of_declared_type(items["type"], items.get("items"), item) for item in value)


def _type_name(type_: str, items: Optional[Mapping[str, Any]]) -> str:
    return f"array<{_type_name(items['type'], items.get('items'))}>" if items else type_


def _stack_file_config(path: Path) -> dict[str, Any]:
    """The ``config:`` mapping of a stack file; StackFileError when the file cannot be one."""
    try:
        document = stack_yaml.load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise StackFileError(f"{path.name} is not valid YAML: {err}") from None
    config = document.get("config") if isinstance(document, dict) else None
    if not isinstance(document, dict) or not isinstance(config or {}, dict):
        raise StackFileError(f"{path.name} must be a mapping whose `config:` is a mapping of keys to values")
    return config or {}


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


class MonitorThreads(ThreadPoolExecutor):
    """The threads the SDK's mock monitor runs on, each with an event loop that ``close()`` closes.

    The SDK awaits the monitor through the loop's default executor, and the monitor creates an event loop for any
    thread that has none. Left to the garbage collector, those loops warn about being unclosed, or fail with "Invalid
    file descriptor: -1" once their sockets are gone, long after the run that made them.
    """

    def __init__(self) -> None:
        self._loops: list[asyncio.AbstractEventLoop] = []
        super().__init__(thread_name_prefix="mock-monitor", initializer=self._new_loop)

    def _new_loop(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loops.append(loop)

    def close(self) -> None:
        """Wait for the threads to finish, then close their loops."""
        self.shutdown(wait=True)
        for loop in self._loops:
            loop.close()
        self._loops.clear()


class ReportedFailures:
    """The session loop's exception handler: drops what asyncio says about the failure a run already reported.

    When the program fails, every Output downstream of the failure holds that same exception in a future nothing
    awaits any more. The language host reports the failure once and its process exits; here the loop's futures live on,
    and their finalizers would log "Future exception was never retrieved" (with a traceback) whenever the collector
    reaches them, often during some later test. ``run_program`` records the failure it keeps in ``run.error``; any
    other exception still reaches asyncio's default handler.
    """

    def __init__(self) -> None:
        self._reported: list[BaseException] = []

    def report(self, error: BaseException) -> None:
        self._reported.append(error)

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if any(context.get("exception") is error for error in self._reported):
            return
        loop.default_exception_handler(context)


@contextmanager
def mock_session(
    project: str, stack: str, config: Mapping[str, str], secret_keys: list[str], mocks: OfflineMocks,
    on_record: Optional[Callable[[RecordedResource], None]] = None,
) -> Iterator[tuple[RecordingMonitor, asyncio.AbstractEventLoop]]:
    """Install the mock engine with ``config`` on a fresh event loop; always restore a clean runtime afterwards."""
    monitor = RecordingMonitor(mocks, on_record)
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(ReportedFailures())
    threads = MonitorThreads()
    loop.set_default_executor(threads)
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
        threads.close()
        loop.close()
        asyncio.set_event_loop(None)


def run_program(
    stack: str,
    overrides: Optional[Mapping[str, Any]] = None,
    *,
    project_dir: Path = REPO,
    mocks: Optional[OfflineMocks] = None,
    first_preview: bool = False,
    on_record: Optional[Callable[[RecordedResource], None]] = None,
) -> ProgramRun:
    """Run ``project_dir/__main__.py`` for ``stack`` under mocks; a user's config mistake lands in ``run.error``.

    With ``first_preview``, every computed output is unknown, as in ``pulumi preview`` of a stack not yet deployed.
    ``on_record`` sees each registration as it is recorded (see ``RecordingMonitor``).
    """
    config, secret_keys = load_stack_config(stack, overrides, project_dir)
    project = project_name(project_dir)
    mocks = mocks or OfflineMocks(config.get("aws:region", "us-east-1"), first_preview=first_preview)
    mocks.adopted_vpc_id = config.get(f"{project}:vpcId", "")
    run = ProgramRun(project, stack, config, secret_keys, f"urn:pulumi:{stack}::{project}::pulumi:pulumi:Stack::{project}-{stack}")
    if str(project_dir) not in sys.path:
        sys.path.insert(0, str(project_dir))
    with mock_session(project, stack, config, secret_keys, mocks, on_record) as (monitor, loop):
        try:
            runpy.run_path(str(project_dir / "__main__.py"), run_name="__main__")
            loop.run_until_complete(pulumi.runtime.stack.wait_for_rpcs())
            root = settings.get_root_resource()
            run.outputs, run.secret_outputs, run.outputs_wire = loop.run_until_complete(_resolve_outputs(root.outputs))
            run.resources = list(monitor.records)
        except pulumi.RunError as err:
            run.error = str(err)
            failures = loop.get_exception_handler()
            failures.report(err)
            # Settle what was already scheduled (the root stack's registration) so nothing is left un-awaited; an
            # error found while resources were being registered (e.g. in an apply) is raised again here, and is the
            # one already kept.
            try:
                loop.run_until_complete(pulumi.runtime.stack.wait_for_rpcs())
            except pulumi.RunError as again:
                failures.report(again)
            run.resources = list(monitor.records)
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
