"""Fixtures for the connectivity check (what they build lives in support.py).

An autouse guard refuses any socket connection that is not to a loopback address, so a routing mistake in a test
fails it instead of sending traffic to a private range.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path
from typing import Any, Callable, Iterator

import boto3
import pytest
from moto import mock_aws

from tests.boto import new_session
from tests.scripts.verify.support import (
    REGION, SERVICE_HOST, ClickHouseServer, LoopbackNetwork, Pki, Stack, TlsListener, build_stack, make_pki,
    running_clickhouse,
)


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def clickhouse(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClickHouseServer]:
    with running_clickhouse(pki, tmp_path_factory.mktemp) as server:
        yield server


@pytest.fixture
def tls_listener(pki: Pki) -> Iterator[Callable[..., TlsListener]]:
    """Start listeners with a certificate from ``pki.issue(...)`` arguments; all are closed after the test."""
    started: list[TlsListener] = []

    def start(name: str, *dns_names: str, **validity: float) -> TlsListener:
        listener = TlsListener(pki.issue(name, *dns_names, **validity))
        started.append(listener)
        return listener

    yield start
    for listener in started:
        listener.close()


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any socket connection to anything but a loopback IP address (the workplace forbids other targets)."""
    real_connect = socket.socket.connect

    def connect(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            try:
                loopback = ipaddress.ip_address(address[0]).is_loopback
            except ValueError:
                loopback = False
            if not loopback:
                raise AssertionError(f"a test tried to connect to {address[0]}:{address[1]}, not loopback")
        real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[boto3.Session]:
    """moto with dummy credentials only: no profile, config file, endpoint override or instance metadata."""
    for var in [v for v in os.environ if v.startswith("AWS_")]:
        monkeypatch.delenv(var)
    for var, value in {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true", "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
    }.items():
        monkeypatch.setenv(var, value)
    with mock_aws():
        yield new_session(region_name=REGION)


@pytest.fixture
def stack(aws: boto3.Session) -> Stack:
    """A dev-shaped PrivateLink stack: VPC, two subnets, the interface endpoint and the password secret."""
    return build_stack(aws)


@pytest.fixture
def network(stack: Stack, clickhouse: ClickHouseServer) -> LoopbackNetwork:
    """The service's hostname resolves to the endpoint's interfaces, which forward to the ClickHouse server."""
    net = LoopbackNetwork(answers={SERVICE_HOST: stack.endpoint_addresses})
    net.send(stack.endpoint_addresses, clickhouse)
    return net
