"""TLS check against real TLS listeners on loopback presenting certificates from the test CA."""

from __future__ import annotations

import datetime as dt
import ipaddress
import time

from scripts.verify.report import Status
from scripts.verify.tls import check_tls, trust
from tests.scripts.verify.support import SERVICE_HOST, LoopbackNetwork, closed_port, silent_server

ADDRESS = ipaddress.ip_address("10.41.3.7")


def probe(port: int, ca_file, *, min_days: int = 7, timeout: float = 3, network: LoopbackNetwork | None = None):
    network = network or LoopbackNetwork(routes={(ADDRESS, 8443): ("127.0.0.1", port)})
    return check_tls(SERVICE_HOST, 8443, (ADDRESS,), network, trust(ca_file), timeout, min_days,
                     dt.datetime.now(dt.timezone.utc))


def test_a_valid_certificate_passes_and_reports_its_expiry(tls_listener, pki):
    listener = tls_listener("valid", SERVICE_HOST, days=90)
    result = probe(listener.port, str(pki.ca_file))
    assert result.status is Status.PASS, result.details
    assert result.check_id == "tls-8443"
    (certificate,) = dict(result.data)["certificates"]
    expires = dt.datetime.fromisoformat(certificate["expires_at"])
    assert abs(expires - (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=90))) < dt.timedelta(minutes=5)
    assert f"the first expires {expires:%Y-%m-%d} (89 days)" in result.message
    assert certificate["address"] == str(ADDRESS) and certificate["days_left"] == 89
    assert certificate["tls_version"] in ("TLSv1.2", "TLSv1.3")
    assert f"DNS names {SERVICE_HOST}, issued by CN=clickhouse-aws verify test CA" in result.details[0]


def test_a_certificate_for_another_host_fails_and_names_what_it_covers(tls_listener, pki):
    listener = tls_listener("other-host", "other.example.internal", "*.example.internal")
    result = probe(listener.port, str(pki.ca_file))
    assert result.status is Status.FAIL
    assert f"{ADDRESS}: certificate not valid for {SERVICE_HOST}: Hostname mismatch" in result.details[0]
    assert "the server presents subject CN=other.example.internal, DNS names other.example.internal, " \
           "*.example.internal" in result.details[0]


def test_the_system_trust_store_does_not_trust_the_test_ca(tls_listener):
    listener = tls_listener("private-ca", SERVICE_HOST)
    result = probe(listener.port, None)
    assert result.status is Status.FAIL
    assert "unable to get local issuer certificate" in result.details[0]


def test_an_expired_certificate_fails(tls_listener, pki):
    listener = tls_listener("expired", SERVICE_HOST, days=-1, age_days=30)
    result = probe(listener.port, str(pki.ca_file))
    assert result.status is Status.FAIL and "certificate has expired" in result.details[0]


def test_a_certificate_expiring_within_the_threshold_fails(tls_listener, pki):
    listener = tls_listener("expiring", SERVICE_HOST, days=3.5)
    assert probe(listener.port, str(pki.ca_file), min_days=2).status is Status.PASS
    result = probe(listener.port, str(pki.ca_file), min_days=7)
    assert result.status is Status.FAIL
    assert result.details[0].endswith("(3 days left): expires within 7 days")


def test_a_closed_port_fails_as_refused(pki):
    result = probe(closed_port(), str(pki.ca_file))
    assert result.status is Status.FAIL
    assert result.details == (f"{ADDRESS}: connection refused (nothing listens on that port)",)


def test_a_server_that_never_answers_the_handshake_is_given_up_on_in_time(pki):
    with silent_server() as port:
        started = time.monotonic()
        result = probe(port, str(pki.ca_file), timeout=0.5)
        assert time.monotonic() - started < 3
    assert result.status is Status.FAIL
    assert result.details == (f"{ADDRESS}: no answer within 0.5 s (a security group, network ACL or route drops "
                              "the traffic)",)


def test_every_address_is_checked_and_one_bad_address_fails_the_port(tls_listener, pki):
    good = tls_listener("good", SERVICE_HOST)
    bad = tls_listener("bad", "other.example.internal")
    second = ipaddress.ip_address("10.41.20.9")
    network = LoopbackNetwork(routes={(ADDRESS, 9440): ("127.0.0.1", good.port),
                                      (second, 9440): ("127.0.0.1", bad.port)})
    result = check_tls(SERVICE_HOST, 9440, (ADDRESS, second), network, trust(str(pki.ca_file)), 3, 7,
                       dt.datetime.now(dt.timezone.utc))
    assert result.status is Status.FAIL and result.check_id == "tls-9440"
    assert result.message == f"Port 9440 of {SERVICE_HOST}: 1 of 2 addresses failed."
    assert result.details[0].startswith(f"{ADDRESS}: TLSv1.")
    assert result.details[1].startswith(f"{second}: certificate not valid for {SERVICE_HOST}")


def test_nothing_is_contacted_without_verified_addresses(pki):
    network = LoopbackNetwork()
    result = check_tls(SERVICE_HOST, 8443, (), network, trust(str(pki.ca_file)), 3, 7,
                       dt.datetime.now(dt.timezone.utc))
    assert result.status is Status.SKIP and network.contacted == []
