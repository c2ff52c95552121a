"""Port check: every verified address accepts a TCP connection on each client port (nothing is sent on it).

Used for the BYOC record, whose NLB forwards to ClickHouse's own ingress: the certificate there names ClickHouse's
hostnames, not the customer's ``clickhouse.<domain>`` alias, so reachability is what can be asserted for that name.
"""

from __future__ import annotations

from scripts.verify.network import IPAddress, Network, connect, describe_socket_error
from scripts.verify.report import CheckResult, failed, passed, skipped


def check_ports(check_id: str, title: str, host: str, addresses: tuple[IPAddress, ...], ports: tuple[int, ...],
                network: Network, timeout: float) -> CheckResult:
    if not addresses:
        return skipped(check_id, title, f"No address of {host} passed the DNS check, so nothing was contacted.")
    details = []
    bad = 0
    for address in addresses:
        for port in ports:
            try:
                with connect(network, address, port, timeout):
                    details.append(f"{address}:{port}: open")
            except OSError as err:
                bad += 1
                details.append(f"{address}:{port}: {describe_socket_error(err, timeout)}")
    shown = " and ".join(str(port) for port in ports)
    if bad:
        return failed(check_id, title, f"{bad} of {len(details)} connections to {host} on {shown} failed.",
                      tuple(details))
    return passed(check_id, title, f"{host} accepts TCP on {shown} at every address.", tuple(details))
