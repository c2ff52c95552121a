"""The policy pack as the CLI runs it, for every policy test, through fixtures only.

``analyzer`` is one pack process for the whole session (a us-east-1 stack); ``pack`` resets it to the default policy
config before each test and wraps it in ``Pack``, which builds CLI-shaped requests: inputs travel as a protobuf
Struct, an unknown value is the engine's sentinel (``pulumi.runtime.rpc.UNKNOWN``), and AWS resources get the default
AWS provider of a us-east-1 stack unless a test passes another (``provider={}`` means none). ``pack_for`` starts, once
per session, a pack for a stack with other config; ``policy_configs`` names the policy configurations cases are judged
in.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional, Sequence

import pytest
from pulumi.runtime.proto import analyzer_pb2

from scripts.offline.analyzer import PACK_DIR, Analyzer, Diagnostic, analyzer_env, to_struct

REGION = "us-east-1"
STACK_CONFIG = {"aws:region": REGION}
DEFAULT_AWS = {"type": "pulumi:providers:aws", "name": "default_7_51_1", "props": {"region": REGION}}
# An office range and a single host, both public addresses.
APPROVED_CIDRS = ["52.94.76.0/24", "2600:1f18:1234::/56"]


def _urn(type_: str, name: str) -> str:
    return f"urn:pulumi:test::proj::{type_}::{name}"


def _provider(type_: str, provider: Any) -> Optional[analyzer_pb2.AnalyzerProviderResource]:
    if provider is None:
        provider = DEFAULT_AWS if type_.startswith("aws:") else None
    if not provider:
        return None
    return analyzer_pb2.AnalyzerProviderResource(
        type=provider["type"], name=provider["name"], urn=_urn(provider["type"], provider["name"]),
        properties=to_struct(provider["props"]),
    )


def _only(diagnostics: list[Diagnostic], policy: Optional[str]) -> list[Diagnostic]:
    return [d for d in diagnostics if policy is None or d.policy == policy]


class Pack:
    """A running pack, with shorthands for the requests a test sends and the answers it reads."""

    default_aws = DEFAULT_AWS

    def __init__(self, analyzer: Analyzer):
        self.analyzer = analyzer

    @staticmethod
    def urn(type_: str, name: str) -> str:
        return _urn(type_, name)

    @staticmethod
    def doc(*statements: Mapping[str, Any]) -> str:
        """A policy document as JSON text, the way most programs pass one."""
        return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})

    @staticmethod
    def resource(
        type_: str, name: str, props: Mapping[str, Any], *,
        deps: Optional[Mapping[str, Sequence[str]]] = None, provider: Any = None,
        options: Optional[Mapping[str, Any]] = None,
    ) -> analyzer_pb2.AnalyzerResource:
        """An AnalyzeStack resource; ``deps`` maps an input to the URNs it depends on, ``options`` are its resource
        options as the engine sends them (``{"additionalSecretOutputs": [...]}``)."""
        return analyzer_pb2.AnalyzerResource(
            type=type_, name=name, urn=_urn(type_, name), properties=to_struct(props),
            options=analyzer_pb2.AnalyzerResourceOptions(**(options or {})),
            provider=_provider(type_, provider),
            propertyDependencies={k: analyzer_pb2.AnalyzerPropertyDependencies(urns=v)
                                  for k, v in (deps or {}).items()},
        )

    def configure(self, config: Optional[Mapping[str, Any]] = None) -> None:
        self.analyzer.configure(config or {})

    def analyze(self, type_: str, props: Mapping[str, Any], *, name: str = "subject", provider: Any = None,
                policy: Optional[str] = None, options: Optional[Mapping[str, Any]] = None) -> list[Diagnostic]:
        request = analyzer_pb2.AnalyzeRequest(
            type=type_, name=name, urn=_urn(type_, name), properties=to_struct(props),
            options=analyzer_pb2.AnalyzerResourceOptions(**(options or {})), provider=_provider(type_, provider),
        )
        return _only(self.analyzer.analyze(request), policy)

    def analyze_stack(self, resources: Sequence[analyzer_pb2.AnalyzerResource], *,
                      policy: Optional[str] = None) -> list[Diagnostic]:
        return _only(self.analyzer.analyze_stack(list(resources)), policy)

    def messages(self, policy: str, type_: str, props: Mapping[str, Any], **kwargs: Any) -> list[str]:
        """What ``policy`` reports for one resource."""
        return [d.message for d in self.analyze(type_, props, policy=policy, **kwargs)]

    def judge(self, resources: Sequence[analyzer_pb2.AnalyzerResource]) -> list[Diagnostic]:
        """What the CLI asks of a preview: Analyze for every resource, then AnalyzeStack for all of them."""
        diagnostics = []
        for r in resources:
            request = analyzer_pb2.AnalyzeRequest(type=r.type, name=r.name, urn=r.urn, properties=r.properties,
                                                  options=r.options,
                                                  provider=r.provider if r.HasField("provider") else None)
            diagnostics.extend(self.analyzer.analyze(request))
        return diagnostics + self.analyzer.analyze_stack(list(resources))

    def blocking(self, policy: str, type_: str, props: Mapping[str, Any], **kwargs: Any) -> list[str]:
        """``messages``, also asserting that every one of them blocks (the policy is mandatory)."""
        diagnostics = self.analyze(type_, props, policy=policy, **kwargs)
        assert all(d.level == "mandatory" for d in diagnostics), diagnostics
        return [d.message for d in diagnostics]


def _start(config: Mapping[str, str], secret_keys: Iterable[str] = ()) -> Analyzer:
    return Analyzer(analyzer_env("proj", "test", config, secret_keys)).start().connect()


@pytest.fixture(scope="session")
def analyzer() -> Iterator[Analyzer]:
    running = _start(STACK_CONFIG)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def pack(analyzer: Analyzer) -> Pack:
    analyzer.configure({})
    return Pack(analyzer)


@pytest.fixture(scope="session")
def policy_configs() -> dict[str, dict[str, Any]]:
    """The policy configurations a pack is judged in: the pack's defaults, each stack's file, and dev's with an
    approved CIDR for ClickHouse's IP access list."""
    configs = {name: json.loads((PACK_DIR / f"config.{name}.json").read_text()) for name in ("dev", "prod")}
    approved = {**configs["dev"], "clickhouse-no-public-access": {"approvedCidrs": APPROVED_CIDRS}}
    return {"default": {}, **configs, "approved-cidr": approved}


@pytest.fixture(scope="session")
def pack_for() -> Iterator[Callable[..., Pack]]:
    """``pack_for(stack_config, secret_keys=())``: a pack for another stack config, started once per session."""
    started: dict[tuple, Analyzer] = {}

    def get(config: Mapping[str, str], secret_keys: Iterable[str] = ()) -> Pack:
        key = (json.dumps(dict(config), sort_keys=True), tuple(sorted(secret_keys)))
        if key not in started:
            started[key] = _start(config, secret_keys)
        started[key].configure({})
        return Pack(started[key])

    try:
        yield get
    finally:
        for running in started.values():
            running.stop()
