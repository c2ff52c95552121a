"""Building CLI-shaped analyzer requests for the policy tests.

Inputs travel as a protobuf Struct; an unknown value is the engine's string sentinel ``UNKNOWN``. AWS resources get
the default AWS provider of a us-east-1 stack unless a test passes another (``provider={}`` means none).
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Optional, Sequence

from pulumi.runtime.proto import analyzer_pb2

from scripts.offline.analyzer import Analyzer, Diagnostic, analyzer_env, to_struct

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
REGION = "us-east-1"
STACK_CONFIG = {"aws:region": REGION}
DEFAULT_AWS = {"type": "pulumi:providers:aws", "name": "default_7_51_1", "props": {"region": REGION}}


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:test::proj::{type_}::{name}"


def _provider(provider: Optional[Mapping[str, Any]]) -> Optional[analyzer_pb2.AnalyzerProviderResource]:
    if provider is None:
        return None
    return analyzer_pb2.AnalyzerProviderResource(
        type=provider["type"], name=provider["name"], urn=urn(provider["type"], provider["name"]),
        properties=to_struct(provider["props"]),
    )


def _default_provider(type_: str, provider: Any) -> Optional[Mapping[str, Any]]:
    if provider is not None:
        return provider or None
    return DEFAULT_AWS if type_.startswith("aws:") else None


def resource(
    type_: str,
    name: str,
    props: Mapping[str, Any],
    *,
    deps: Optional[Mapping[str, Sequence[str]]] = None,
    provider: Any = None,
) -> analyzer_pb2.AnalyzerResource:
    """An AnalyzeStack resource; ``deps`` maps an input to the URNs it depends on; ``provider={}`` means none."""
    return analyzer_pb2.AnalyzerResource(
        type=type_, name=name, urn=urn(type_, name), properties=to_struct(props),
        provider=_provider(_default_provider(type_, provider)),
        propertyDependencies={k: analyzer_pb2.AnalyzerPropertyDependencies(urns=v) for k, v in (deps or {}).items()},
    )


class Pack:
    """The running pack, with shorthands for the three calls a test needs."""

    def __init__(self, analyzer: Analyzer):
        self.analyzer = analyzer

    def configure(self, config: Optional[Mapping[str, Any]] = None) -> None:
        self.analyzer.configure(config or {})

    def analyze(
        self, type_: str, props: Mapping[str, Any], *, name: str = "subject", provider: Any = None,
        policy: Optional[str] = None,
    ) -> list[Diagnostic]:
        request = analyzer_pb2.AnalyzeRequest(
            type=type_, name=name, urn=urn(type_, name), properties=to_struct(props),
            options=analyzer_pb2.AnalyzerResourceOptions(),
            provider=_provider(_default_provider(type_, provider)),
        )
        return _only(self.analyzer.analyze(request), policy)

    def analyze_stack(
        self, resources: Sequence[analyzer_pb2.AnalyzerResource], *, policy: Optional[str] = None
    ) -> list[Diagnostic]:
        return _only(self.analyzer.analyze_stack(list(resources)), policy)


def _only(diagnostics: list[Diagnostic], policy: Optional[str]) -> list[Diagnostic]:
    return [d for d in diagnostics if policy is None or d.policy == policy]


def start_pack(config: Mapping[str, str]) -> Analyzer:
    """A pack process whose stack config (PULUMI_CONFIG) is ``config``."""
    return Analyzer(analyzer_env("proj", "test", config)).start().connect()


def policy_doc(*statements: Mapping[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def messages(pack: Pack, policy: str, type_: str, props: Mapping[str, Any], **kwargs: Any) -> list[str]:
    """What ``policy`` reports for one resource sent through the running pack."""
    return [d.message for d in pack.analyze(type_, props, policy=policy, **kwargs)]


def blocking_messages(pack: Pack, policy: str, type_: str, props: Mapping[str, Any], **kwargs: Any) -> list[str]:
    """``messages``, also asserting that every one of them blocks (the policy is mandatory)."""
    diagnostics = pack.analyze(type_, props, policy=policy, **kwargs)
    assert all(d.level == "mandatory" for d in diagnostics)
    return [d.message for d in diagnostics]


def policies(diagnostics: list[Diagnostic]) -> set[str]:
    return {d.policy for d in diagnostics}
