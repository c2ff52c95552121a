"""Query check: ``SELECT 1`` over HTTPS with clickhouse-connect, as the user and password from the secret.

The client connects to an address the DNS check verified, with the service's hostname for SNI, certificate
verification and the Host header, through a connection pool of its own: no proxy from the environment, no retries,
bounded connect and read timeouts. The password is never shown: it is removed from every message before it leaves
this module, and clickhouse-connect only ever sends it in the Authorization header over the verified TLS connection.
"""

from __future__ import annotations

import math

import clickhouse_connect
import urllib3
from clickhouse_connect.driver.exceptions import ClickHouseError

from scripts.verify.credentials import Credentials
from scripts.verify.network import IPAddress, Network
from scripts.verify.report import CheckResult, failed, passed, skipped
from scripts.verify.tls import trust

CHECK_ID = "query"
TITLE = "SELECT 1 over HTTPS succeeds with the secret's credentials"
MAX_MESSAGE = 400


def redact(text: str, secret: str) -> str:
    """``text`` without ``secret`` in it, cut to a readable length."""
    text = text.replace(secret, "***") if secret else text
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE - 3] + "..."


def _why(err: Exception, user: str) -> str:
    text = str(err)
    # A bad user or password: HTTP 401 with code 516 (AUTHENTICATION_FAILED); older servers answer 192 or 193.
    if any(mark in text for mark in ("AUTHENTICATION_FAILED", "Code: 516", "Code: 193", "Code: 192", "status 401")):
        return f"ClickHouse refused user {user}'s credentials from the secret: {text}"
    return text or type(err).__name__


def check_query(host: str, port: int, addresses: tuple[IPAddress, ...], credentials: Credentials | None,
                network: Network, ca_file: str | None, timeout: float) -> CheckResult:
    if credentials is None:
        return skipped(CHECK_ID, TITLE, "The secret holds no usable user and password (see the credentials check).")
    if not addresses:
        return skipped(CHECK_ID, TITLE, f"No address of {host} passed the DNS check, so no password was sent.")
    address = addresses[0]
    route_host, route_port = network.route(address, port)
    # A context of its own: urllib3 adjusts the one it is given (it matches the hostname itself).
    pool = urllib3.PoolManager(
        num_pools=1, maxsize=1, ssl_context=trust(ca_file), server_hostname=host, assert_hostname=host, retries=False,
    )
    seconds = max(1, math.ceil(timeout))
    client = None
    try:
        client = clickhouse_connect.get_client(
            host=route_host, port=route_port, username=credentials.username, password=credentials.password,
            secure=True, server_host_name=host, pool_mgr=pool, connect_timeout=seconds,
            send_receive_timeout=seconds, query_retries=0, compress=False, autogenerate_session_id=False,
            client_name="clickhouse-aws-verify",
        )
        rows = client.query("SELECT 1").result_rows
        version = client.server_version
    except (ClickHouseError, urllib3.exceptions.HTTPError, OSError, ValueError) as err:
        return failed(CHECK_ID, TITLE, f"SELECT 1 at {address}:{port} failed: "
                      f"{redact(_why(err, credentials.username), credentials.password)}")
    finally:
        if client is not None:
            client.close()
        # urllib3 2's clear() forgets its pools without closing them, so the keep-alive connection would stay open
        # until the garbage collector found it (and a ClickHouse server shutting down would wait for it): close the
        # one pool this check used (connection_from_host gives the pool for the same key the request used).
        pool.connection_from_host(route_host, route_port, scheme="https").close()
        pool.clear()
    if rows != [(1,)]:
        shown = redact(repr(rows), credentials.password)
        return failed(CHECK_ID, TITLE, f"SELECT 1 at {address}:{port} returned {shown}, not a single 1.")
    return passed(CHECK_ID, TITLE, f"SELECT 1 at {address}:{port} returned 1 over HTTPS as {credentials.username} "
                  f"(ClickHouse {version}).", server_version=version)
