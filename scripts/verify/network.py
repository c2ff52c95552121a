"""How the checks reach the network: name resolution with a deadline, and where a connection to an address goes.

Every check goes through one ``Network``: the DNS check resolves the service's hostname once, and the TLS, port and
query checks connect only to the addresses that answer gave (with the hostname for SNI, certificate verification and
the HTTP Host header), so no check talks to anything but the host the outputs name, and a DNS answer cannot change
between checks. ``SystemNetwork`` is the real one; tests substitute a ``Network`` whose answers they control and whose
``route`` sends the VPC addresses to a server on loopback, as the VPC endpoint forwards to ClickHouse.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from typing import Protocol, Union

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]


class ResolutionError(Exception):
    """The hostname did not resolve; the message says how (no such name, no answer in time, resolver failure)."""


class Network(Protocol):
    def resolve(self, host: str, timeout: float) -> tuple[IPAddress, ...]:
        """The host's addresses, sorted and without repeats; ResolutionError when there are none."""

    def route(self, address: IPAddress, port: int) -> tuple[str, int]:
        """The socket address a connection to ``address``:``port`` is made to."""


_GAI_REASONS = {
    socket.EAI_NONAME: "no such name (NXDOMAIN)",
    socket.EAI_AGAIN: "the resolver did not answer (temporary failure)",
    getattr(socket, "EAI_NODATA", socket.EAI_NONAME): "the name has no address records",
}


class SystemNetwork:
    """The host's own resolver (``getaddrinfo``, so /etc/hosts and the VPC's resolver alike) and direct routes."""

    def resolve(self, host: str, timeout: float) -> tuple[IPAddress, ...]:
        answer: list[tuple[IPAddress, ...]] = []
        failure: list[BaseException] = []

        def lookup() -> None:
            try:
                infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
                answer.append(tuple(sorted({ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos},
                                           key=lambda a: (a.version, int(a)))))
            except Exception as err:  # handed to the waiting thread, which decides what it means
                failure.append(err)

        # getaddrinfo has no timeout of its own; a daemon thread lets the run give up without waiting at exit.
        worker = threading.Thread(target=lookup, name=f"resolve {host}", daemon=True)
        worker.start()
        worker.join(timeout)
        if worker.is_alive():
            raise ResolutionError(f"no answer within {timeout:g} s from this host's resolver")
        if failure:
            err = failure[0]
            if isinstance(err, socket.gaierror):
                raise ResolutionError(_GAI_REASONS.get(err.errno, f"resolver error: {err.strerror or err}"))
            raise ResolutionError(f"resolver error: {err}")
        if not answer[0]:
            raise ResolutionError("the name has no address records")
        return answer[0]

    def route(self, address: IPAddress, port: int) -> tuple[str, int]:
        return str(address), port


def connect(network: Network, address: IPAddress, port: int, timeout: float) -> socket.socket:
    """A TCP connection to ``address``:``port`` as ``network`` routes it; OSError (incl. timeout) when refused."""
    return socket.create_connection(network.route(address, port), timeout=timeout)


def describe_socket_error(err: OSError, timeout: float) -> str:
    """Why a TCP connection failed, in the words an operator looks for."""
    if isinstance(err, (socket.timeout, TimeoutError)):
        return f"no answer within {timeout:g} s (a security group, network ACL or route drops the traffic)"
    if isinstance(err, ConnectionRefusedError):
        return "connection refused (nothing listens on that port)"
    if isinstance(err, ConnectionResetError):
        return "connection reset by the peer"
    return err.strerror or str(err) or type(err).__name__
