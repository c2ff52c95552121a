"""TLS check: every verified address presents, on a port, a certificate that is valid for the service's hostname.

The chain is verified against the system trust store (or ``--ca-file``), the hostname against the certificate's
names, and the expiry is reported; a certificate closer to expiry than ``min_days`` is a failure too. When
verification fails, the certificate is fetched once more without verification, only to say what it does name.
"""

from __future__ import annotations

import datetime as dt
import ssl
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

from scripts.verify.network import IPAddress, Network, connect, describe_socket_error
from scripts.verify.report import CheckResult, failed, passed, skipped


def trust(ca_file: str | None) -> ssl.SSLContext:
    """A client context that verifies chain and hostname: the system's CAs, or only those in ``ca_file``."""
    context = ssl.create_default_context(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


@dataclass(frozen=True)
class Certificate:
    subject: str
    issuer: str
    names: tuple[str, ...]
    not_after: dt.datetime

    @classmethod
    def parse(cls, der: bytes) -> Certificate:
        cert = x509.load_der_x509_certificate(der)
        try:
            names = tuple(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
                          .get_values_for_type(x509.DNSName))
        except x509.ExtensionNotFound:
            names = ()
        return cls(_common_name(cert.subject), _common_name(cert.issuer), names, cert.not_valid_after_utc)

    def describe(self) -> str:
        names = ", ".join(self.names) or "none"
        return f"subject {self.subject}, DNS names {names}, issued by {self.issuer}, valid until " \
               f"{self.not_after:%Y-%m-%d %H:%M} UTC"


def _common_name(name: x509.Name) -> str:
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return f"CN={values[0].value}" if values else name.rfc4514_string() or "(empty)"


def _peek(network: Network, address: IPAddress, port: int, host: str, timeout: float) -> str:
    """What the server's certificate names, fetched without verification (diagnostics only, nothing is sent)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with connect(network, address, port, timeout) as raw, context.wrap_socket(raw, server_hostname=host) as tls:
            der = tls.getpeercert(binary_form=True)
        return f"; the server presents {Certificate.parse(der).describe()}" if der else ""
    except (OSError, ValueError):
        return ""


@dataclass(frozen=True)
class _Probe:
    """One address on one port: whether it passed, the detail line, and what a verified handshake showed."""

    ok: bool
    line: str
    facts: dict[str, object] | None = None
    not_after: dt.datetime | None = None


def _probe(network: Network, context: ssl.SSLContext, host: str, address: IPAddress, port: int, timeout: float,
           min_days: int, now: dt.datetime) -> _Probe:
    try:
        with connect(network, address, port, timeout) as raw, context.wrap_socket(raw, server_hostname=host) as tls:
            der = tls.getpeercert(binary_form=True)
            version = tls.version()
    except ssl.SSLCertVerificationError as err:
        return _Probe(False, f"{address}: certificate not valid for {host}: {err.verify_message}"
                             f"{_peek(network, address, port, host, timeout)}")
    except ssl.SSLError as err:
        return _Probe(False, f"{address}: TLS handshake failed ({err.reason or err})")
    except OSError as err:
        return _Probe(False, f"{address}: {describe_socket_error(err, timeout)}")
    assert der is not None  # a verified handshake always has the peer's certificate
    cert = Certificate.parse(der)
    days = (cert.not_after - now).days
    facts = {"address": str(address), "tls_version": version, "expires_at": cert.not_after.isoformat(),
             "days_left": days}
    line = f"{address}: {version}, {cert.describe()} ({days} days left)"
    if days < min_days:
        return _Probe(False, f"{line}: expires within {min_days} days", facts, cert.not_after)
    return _Probe(True, line, facts, cert.not_after)


def check_tls(host: str, port: int, addresses: tuple[IPAddress, ...], network: Network, context: ssl.SSLContext,
              timeout: float, min_days: int, now: dt.datetime) -> CheckResult:
    check_id = f"tls-{port}"
    title = f"TLS on port {port} presents a valid certificate for the service's hostname"
    if not addresses:
        return skipped(check_id, title, f"No address of {host} passed the DNS check, so nothing was contacted.")
    probes = [_probe(network, context, host, address, port, timeout, min_days, now) for address in addresses]
    details = tuple(probe.line for probe in probes)
    certificates = [probe.facts for probe in probes if probe.facts]
    bad = sum(1 for probe in probes if not probe.ok)
    if bad:
        return failed(check_id, title, f"Port {port} of {host}: {bad} of {len(probes)} address"
                      f"{'es' if len(probes) > 1 else ''} failed.", details, certificates=certificates)
    soonest = min(probe.not_after for probe in probes if probe.not_after)
    return passed(check_id, title, f"Port {port} of {host} presents a valid certificate at every address; the "
                  f"first expires {soonest:%Y-%m-%d} ({(soonest - now).days} days).", details,
                  certificates=certificates)
