"""Query check: SELECT 1 over HTTPS with clickhouse-connect against the real ClickHouse server on loopback."""

from __future__ import annotations

import gc
import ipaddress
import socket
import time

from scripts.verify.credentials import Credentials
from scripts.verify.query import check_query, redact
from scripts.verify.report import Status
from tests.scripts.verify.support import PASSWORD, SERVICE_HOST, USER, LoopbackNetwork, closed_port, silent_server

ADDRESS = ipaddress.ip_address("10.41.3.7")


def query(network: LoopbackNetwork, ca_file, credentials=Credentials(USER, PASSWORD), timeout: float = 5):
    return check_query(SERVICE_HOST, 8443, (ADDRESS,), credentials, network, ca_file, timeout)


def to_server(clickhouse) -> LoopbackNetwork:
    network = LoopbackNetwork()
    network.send((ADDRESS,), clickhouse)
    return network


def test_select_1_succeeds_over_verified_tls(clickhouse, pki):
    network = to_server(clickhouse)
    result = query(network, str(pki.ca_file))
    assert result.status is Status.PASS, result.message
    version = dict(result.data)["server_version"]
    assert version and result.message == f"SELECT 1 at {ADDRESS}:8443 returned 1 over HTTPS as {USER} " \
                                          f"(ClickHouse {version})."
    assert set(network.contacted) == {(ADDRESS, 8443)}


def test_a_wrong_password_is_refused_and_never_shown(clickhouse, pki):
    wrong = "Wrong-Pw-5dK3-AlsoNeverPrinted"
    result = query(to_server(clickhouse), str(pki.ca_file), Credentials(USER, wrong))
    assert result.status is Status.FAIL
    assert result.message.startswith(f"SELECT 1 at {ADDRESS}:8443 failed: ClickHouse refused user {USER}'s "
                                     "credentials from the secret: ")
    assert wrong not in result.message and PASSWORD not in result.message


def test_a_certificate_the_trust_store_does_not_vouch_for_stops_the_query(clickhouse):
    result = query(to_server(clickhouse), None)
    assert result.status is Status.FAIL
    assert "certificate verify failed: unable to get local issuer certificate" in result.message
    assert PASSWORD not in result.message


def test_a_closed_port_fails_as_refused(pki):
    network = LoopbackNetwork(routes={(ADDRESS, 8443): ("127.0.0.1", closed_port())})
    result = query(network, str(pki.ca_file))
    assert result.status is Status.FAIL and "Connection refused" in result.message


def test_a_server_that_never_answers_is_given_up_on_in_time(pki):
    with silent_server() as port:
        started = time.monotonic()
        result = query(LoopbackNetwork(routes={(ADDRESS, 8443): ("127.0.0.1", port)}), str(pki.ca_file), timeout=1)
        assert time.monotonic() - started < 10
    assert result.status is Status.FAIL and "timed out" in result.message


def test_no_password_is_sent_without_credentials_or_a_verified_address(pki):
    network = LoopbackNetwork()
    assert query(network, str(pki.ca_file), credentials=None).status is Status.SKIP
    result = check_query(SERVICE_HOST, 8443, (), Credentials(USER, PASSWORD), network, str(pki.ca_file), 5)
    assert result.status is Status.SKIP
    assert network.contacted == []


def test_redact_removes_the_secret_and_bounds_the_length():
    assert redact(f"user:{PASSWORD}@host {PASSWORD}", PASSWORD) == "user:***@host ***"
    assert len(redact("x" * 10_000, PASSWORD)) == 400


def test_the_check_leaves_no_connection_to_the_server_open(clickhouse, pki):
    # With the collector off, only an explicit close ends the keep-alive connection a check used: an embedding
    # program (or a server shutting down) must not wait for a garbage collection.
    gc.disable()
    try:
        assert query(to_server(clickhouse), str(pki.ca_file)).status is Status.PASS
        # issubclass(type(...)): isinstance on a weak proxy whose referent is gone raises ReferenceError.
        open_to_server = [sock for sock in gc.get_objects() if issubclass(type(sock), socket.socket)
                          and sock.fileno() >= 0 and _peer_port(sock) == clickhouse.https_port]
    finally:
        gc.enable()
    assert open_to_server == []


def _peer_port(sock: socket.socket) -> int | None:
    try:
        return sock.getpeername()[1]
    except OSError:
        return None
