"""The system network: the host's resolver with a deadline, and plain routes."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time

import pytest

from scripts.verify.network import ResolutionError, SystemNetwork, connect, describe_socket_error


def test_resolves_through_the_hosts_own_resolver():
    # /etc/hosts answers localhost without any DNS traffic.
    addresses = SystemNetwork().resolve("localhost", timeout=5)
    assert ipaddress.ip_address("127.0.0.1") in addresses
    assert list(addresses) == sorted(set(addresses), key=lambda a: (a.version, int(a)))


@pytest.mark.parametrize("errno, reason", [
    (socket.EAI_NONAME, "no such name (NXDOMAIN)"),
    (socket.EAI_AGAIN, "the resolver did not answer (temporary failure)"),
])
def test_resolver_failures_say_what_happened(monkeypatch, errno, reason):
    def fail(*args, **kwargs):
        raise socket.gaierror(errno, "test")
    monkeypatch.setattr(socket, "getaddrinfo", fail)
    with pytest.raises(ResolutionError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        SystemNetwork().resolve("absent.example.internal", timeout=5)


def test_a_resolver_that_never_answers_is_given_up_on_in_time(monkeypatch):
    release = threading.Event()

    def hang(*args, **kwargs):
        release.wait(30)
        raise socket.gaierror(socket.EAI_AGAIN, "late")
    monkeypatch.setattr(socket, "getaddrinfo", hang)
    started = time.monotonic()
    try:
        with pytest.raises(ResolutionError, match="no answer within 0.3 s"):
            SystemNetwork().resolve("slow.example.internal", timeout=0.3)
        assert time.monotonic() - started < 2
    finally:
        release.set()


def test_connection_failures_are_described(monkeypatch):
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()  # nothing listens there now
    with pytest.raises(OSError) as caught:
        connect(SystemNetwork(), ipaddress.ip_address("127.0.0.1"), port, timeout=2)
    assert describe_socket_error(caught.value, 2) == "connection refused (nothing listens on that port)"
    assert describe_socket_error(TimeoutError(), 2.5).startswith("no answer within 2.5 s")
