"""One connectivity run: validate the outputs, make every AWS read, then run the network checks in order.

All AWS reads happen before the first packet to the service, so a run that cannot read what it needs (exit code 2)
has contacted nothing. The checks then go DNS first; only addresses the DNS check verified are contacted by the TLS,
port and query checks.
"""

from __future__ import annotations

import datetime as dt
from argparse import ArgumentTypeError
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import boto3

from scripts.verify.aws import VerifyAws
from scripts.verify.credentials import NATIVE_TLS_PORT, check_credentials
from scripts.verify.dns import Expectation, check_dns, endpoint_expectation, nlb_expectation
from scripts.verify.network import Network, SystemNetwork
from scripts.verify.outputs import parse_outputs
from scripts.verify.ports import check_ports
from scripts.verify.query import check_query
from scripts.verify.report import CheckResult, Report, VerifyError, skipped
from scripts.verify.tls import check_tls, trust

BYOC_DNS = ("byoc-dns", "The BYOC record resolves to the internal NLB's private addresses in the VPC")
BYOC_PORTS = ("byoc-ports", "The internal NLB accepts TCP on the HTTPS and native TLS ports")


@dataclass(frozen=True)
class Options:
    ca_file: str | None = None  # PEM bundle to trust instead of the system's CAs
    timeout: float = 5.0  # seconds for each resolution, connection, handshake and HTTP read
    min_cert_days: int = 7  # a certificate expiring sooner is a failure


# Command-line types of the Options' fields (``scripts.verify`` and ``scripts.stack verify``).


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 60:
        raise ArgumentTypeError(f"{text!r} is not between 0 and 60 seconds")
    return value


def days(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ArgumentTypeError(f"{text!r} is not a whole number of days") from None
    if not 0 <= value <= 3650:
        raise ArgumentTypeError(f"{text!r} is not between 0 and 3650 days")
    return value


def _byoc_checks(record_name: str | None, expectation: Expectation | None, ports: tuple[int, ...], network: Network,
                 timeout: float) -> list[CheckResult]:
    if record_name is None or expectation is None:
        reason = "The outputs have no byoc.clickhouse_record_name yet (it appears once byocNlbDnsName is set)."
        return [skipped(*BYOC_DNS, reason), skipped(*BYOC_PORTS, reason)]
    dns = check_dns(*BYOC_DNS, record_name, expectation, network, timeout)
    return [dns.result, check_ports(*BYOC_PORTS, record_name, dns.verified, ports, network, timeout)]


def _context(ca_file: str | None) -> ssl.SSLContext:
    if ca_file is not None and not Path(ca_file).is_file():
        raise VerifyError(f"The CA file {ca_file} does not exist or is not a file (--ca-file takes a PEM bundle).")
    try:
        return trust(ca_file)
    except (ssl.SSLError, OSError, ValueError) as err:
        raise VerifyError(f"The CA file {ca_file} holds no usable PEM certificates ({err}).") from None


def run_verify(outputs: Mapping[str, Any], *, options: Options = Options(), session: boto3.Session | None = None,
               network: Network | None = None, now: dt.datetime | None = None) -> Report:
    """Check connectivity to the service the outputs describe; VerifyError when the run cannot start."""
    target = parse_outputs(outputs)
    context = _context(options.ca_file)
    network = network or SystemNetwork()
    now = now or dt.datetime.now(dt.timezone.utc)

    aws = VerifyAws(session, target.region)
    account = aws.account_id()
    if account != target.account_id:
        raise VerifyError(f"The credentials belong to AWS account {account}, but the stack's secret is in account "
                          f"{target.account_id}. Use credentials for the stack's account and run again.")
    service = endpoint_expectation(aws, target.vpc_id, target.vpc_endpoint_id)
    byoc = (nlb_expectation(aws, target.byoc.vpc_id)
            if target.byoc is not None and target.byoc.record_name is not None else None)
    credentials_result, credentials = check_credentials(target, aws.secret_string(target.secret_arn))

    dns = check_dns("dns", "The service's hostname resolves to the endpoint's private addresses in the VPC",
                    target.host, service, network, options.timeout)
    ports = tuple(dict.fromkeys((target.https_port, NATIVE_TLS_PORT)))
    checks: list[CheckResult] = [dns.result]
    checks += [check_tls(target.host, port, dns.verified, network, context, options.timeout, options.min_cert_days,
                         now) for port in ports]
    checks.append(credentials_result)
    checks.append(check_query(target.host, target.https_port, dns.verified, credentials, network, options.ca_file,
                              options.timeout))
    if target.byoc is not None:
        checks += _byoc_checks(target.byoc.record_name, byoc, ports, network, options.timeout)
    return Report(url=target.url, region=target.region, vpc_id=target.vpc_id, checks=tuple(checks))
