"""Test support for the connectivity check: the test PKI, the real ClickHouse server, a TLS listener for certificate
edge cases, the network the tests control, and a moto account shaped like a deployed stack (fixtures: conftest.py).

The server is Debian's ``clickhouse-server`` package (CI installs it through ``make clickhouse-server``); it runs
from a temporary config and data directory on free loopback ports with HTTPS and native TLS only. Name resolution
goes through ``LoopbackNetwork``: the service's hostname resolves to the moto VPC endpoint's interface addresses
(AWS-shaped private addresses, judged by the real DNS check), and ``route`` sends connections to those addresses to
the server on loopback, as the endpoint forwards to ClickHouse.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import boto3
import pytest
import urllib3
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from scripts.verify.network import IPAddress, ResolutionError

REGION = "us-east-1"
SERVICE_HOST = f"q7xk2m9vtz.{REGION}.vpce.aws.clickhouse.cloud"
ENDPOINT_SERVICE = f"com.amazonaws.vpce.{REGION}.vpce-svc-0c1d2e3f4a5b69788"
BYOC_DOMAIN = "dev.byoc.internal"
BYOC_RECORD = f"clickhouse.{BYOC_DOMAIN}"
NATIVE_TLS_PORT = 9440
USER = "default"
# Distinctive, so a test can assert it appears in no output, message or log.
PASSWORD = "Pw-7hJq2-NeverPrinted-x9Lk"
INSTALL_HINT = (
    "clickhouse-server is not installed, and the connectivity tests need a real server. Install it with "
    "`make clickhouse-server` (Debian/Ubuntu: apt-get update && apt-get install -y clickhouse-server); "
    "`make test` does it when run as root, as in CI."
)


# --- test PKI -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Issued:
    cert: Path
    key: Path


@dataclass(frozen=True)
class Pki:
    """A CA made for the test run and a way to issue server certificates from it."""

    directory: Path
    ca_file: Path
    ca_cert: x509.Certificate
    ca_key: rsa.RSAPrivateKey

    def issue(self, name: str, *dns_names: str, days: float = 90, age_days: float = 1) -> Issued:
        now = dt.datetime.now(dt.timezone.utc)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_names[0])]))
            .issuer_name(self.ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=age_days))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(self.ca_key, hashes.SHA256())
        )
        issued = Issued(self.directory / f"{name}.pem", self.directory / f"{name}.key")
        issued.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        issued.key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()))
        return issued


def make_pki(directory: Path) -> Pki:
    """A CA valid for a year, written to ``directory``/ca.pem."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "clickhouse-aws verify test CA")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=2)).not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    ca_file = directory / "ca.pem"
    ca_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return Pki(directory, ca_file, cert, key)


def client_context(ca_file: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca_file))


# --- a real ClickHouse server -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClickHouseServer:
    https_port: int
    tls_port: int
    log: Path

    def query(self, ca_file: Path, sql: str, *, user: str = USER, password: str = PASSWORD,
              timeout: float = 5) -> urllib3.BaseHTTPResponse:
        """POST ``sql`` to the HTTPS interface, verifying the server's certificate for SERVICE_HOST."""
        with urllib3.HTTPSConnectionPool(
            "127.0.0.1", self.https_port, ssl_context=client_context(ca_file), server_hostname=SERVICE_HOST,
            assert_hostname=SERVICE_HOST, retries=False, timeout=timeout,
        ) as pool:
            return pool.request("POST", "/", body=sql.encode(), headers=urllib3.make_headers(
                basic_auth=f"{user}:{password}"))


def _server_binary() -> str:
    path = shutil.which("clickhouse-server") or next(
        (p for p in ("/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server") if os.access(p, os.X_OK)), None)
    if path is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    return path


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _write_config(root: Path, cert: Issued, https_port: int, tls_port: int) -> Path:
    data = root / "data"
    (data / "tmp").mkdir(parents=True, exist_ok=True)
    (data / "user_files").mkdir(exist_ok=True)
    # The <yandex> root is what 18.16 reads; newer servers accept it too. No plain HTTP or native port: TLS only,
    # like ClickHouse Cloud.
    config = root / "config.xml"
    config.write_text(f"""<yandex>
  <logger><level>information</level><console>1</console></logger>
  <listen_host>127.0.0.1</listen_host>
  <https_port>{https_port}</https_port>
  <tcp_port_secure>{tls_port}</tcp_port_secure>
  <openSSL><server>
    <certificateFile>{cert.cert}</certificateFile>
    <privateKeyFile>{cert.key}</privateKeyFile>
    <verificationMode>none</verificationMode>
    <loadDefaultCAFile>false</loadDefaultCAFile>
    <disableProtocols>sslv2,sslv3,tlsv1,tlsv1_1</disableProtocols>
    <preferServerCiphers>true</preferServerCiphers>
  </server></openSSL>
  <path>{data}/</path>
  <tmp_path>{data}/tmp/</tmp_path>
  <user_files_path>{data}/user_files/</user_files_path>
  <users_config>{root}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>67108864</mark_cache_size>
</yandex>
""")
    (root / "users.xml").write_text(f"""<yandex>
  <profiles><default></default></profiles>
  <users><{USER}>
    <password_sha256_hex>{hashlib.sha256(PASSWORD.encode()).hexdigest()}</password_sha256_hex>
    <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
    <profile>default</profile><quota>default</quota>
  </{USER}></users>
  <quotas><default></default></quotas>
</yandex>
""")
    return config


# clickhouse-connect starts every client with `SELECT name, value, readonly FROM system.settings`; the `readonly`
# column arrived after 18.16, the only server Debian packages. On such a server the test replaces system.settings
# with a view of a snapshot that adds the column (readonly = 0, as on a default profile). Newer servers are untouched.
_SETTINGS_SHIM = (
    "CREATE TABLE system.settings_snapshot ENGINE = Memory AS "
    "SELECT name, value, changed, description, toUInt8(0) AS readonly FROM system.settings",
    "DETACH TABLE system.settings",
    "CREATE VIEW system.settings AS SELECT * FROM system.settings_snapshot",
)


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait_ready(process: subprocess.Popen[bytes], server: ClickHouseServer, ca_file: Path, deadline: float) -> bool:
    """True once /ping answers over verified TLS; False when the process exits first or the deadline passes."""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib3.HTTPSConnectionPool(
                "127.0.0.1", server.https_port, ssl_context=client_context(ca_file), server_hostname=SERVICE_HOST,
                assert_hostname=SERVICE_HOST, retries=False, timeout=2,
            ) as pool:
                if pool.request("GET", "/ping").data.strip() == b"Ok.":
                    return True
        except urllib3.exceptions.HTTPError:
            pass
        time.sleep(0.2)
    return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@contextmanager
def running_clickhouse(pki: Pki, workspace: Callable[[str], Path]) -> Iterator[ClickHouseServer]:
    """A server for SERVICE_HOST on free loopback ports, stopped on exit; pytest.fail when it cannot start."""
    binary = _server_binary()
    cert = pki.issue("clickhouse", SERVICE_HOST)
    # Free ports can be taken between the probe and the server's bind (other processes share the machine): retry.
    for attempt in range(3):
        root = workspace(f"clickhouse{attempt}")
        https_port, tls_port = _free_ports(2)
        server = ClickHouseServer(https_port, tls_port, root / "server.log")
        with server.log.open("wb") as log:
            process = subprocess.Popen([binary, f"--config-file={_write_config(root, cert, https_port, tls_port)}"],
                                       cwd=root, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        if _wait_ready(process, server, pki.ca_file, time.monotonic() + 60):
            break
        _stop(process)
        if "Address already in use" not in _tail(server.log, 200):
            pytest.fail(f"clickhouse-server did not become ready within 60 s:\n{_tail(server.log)}", pytrace=False)
    else:
        pytest.fail(f"clickhouse-server found no free ports in 3 attempts:\n{_tail(server.log)}", pytrace=False)
    try:
        probe = server.query(pki.ca_file, "SELECT readonly FROM system.settings LIMIT 1")
        if probe.status != 200:
            for statement in _SETTINGS_SHIM:
                answer = server.query(pki.ca_file, statement)
                assert answer.status == 200, f"{statement}: {answer.data.decode(errors='replace')}"
        yield server
    finally:
        _stop(process)


# --- a TLS listener for certificate edge cases --------------------------------------------------------------------


class TlsListener:
    """A loopback TLS server presenting one certificate: each connection completes a handshake and closes."""

    def __init__(self, issued: Issued):
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(issued.cert, issued.key)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    with self.context.wrap_socket(conn, server_side=True):
                        pass
                except (OSError, ssl.SSLError):
                    pass  # the client gave up on a certificate it rejected: the point of these tests

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


def closed_port() -> int:
    """A loopback port nothing listens on (it was free a moment ago)."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return sock.getsockname()[1]


@contextmanager
def silent_server() -> Iterator[int]:
    """A loopback port that accepts a connection and then never says anything."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(server.accept()[0]), daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        server.close()
        thread.join(timeout=5)
        for conn in accepted:
            conn.close()


# --- name resolution and routing the test controls ----------------------------------------------------------------


@dataclass
class LoopbackNetwork:
    """DNS answers from ``answers``; connections to (address, port) go where ``routes`` says, and nowhere else."""

    answers: dict[str, tuple[IPAddress, ...]] = field(default_factory=dict)
    routes: dict[tuple[IPAddress, int], tuple[str, int]] = field(default_factory=dict)
    resolved: list[str] = field(default_factory=list)
    contacted: list[tuple[IPAddress, int]] = field(default_factory=list)

    def resolve(self, host: str, timeout: float) -> tuple[IPAddress, ...]:
        self.resolved.append(host)
        if host not in self.answers:
            raise ResolutionError("no such name (NXDOMAIN)")
        return self.answers[host]

    def route(self, address: IPAddress, port: int) -> tuple[str, int]:
        self.contacted.append((address, port))
        if (address, port) not in self.routes:
            raise AssertionError(f"the check connected to {address}:{port}, which the test did not route")
        return self.routes[(address, port)]

    def send(self, addresses: tuple[IPAddress, ...], server: ClickHouseServer) -> None:
        """Route both client ports of ``addresses`` to ``server``, as the endpoint or NLB forwards to ClickHouse."""
        for address in addresses:
            self.routes[(address, 8443)] = ("127.0.0.1", server.https_port)
            self.routes[(address, NATIVE_TLS_PORT)] = ("127.0.0.1", server.tls_port)


# --- a moto account shaped like a deployed stack ------------------------------------------------------------------


@dataclass
class Stack:
    """What a deployed stack looks like in the account, and the outputs file `pulumi stack output --json` gives."""

    session: boto3.Session
    vpc_id: str
    subnet_ids: list[str]
    endpoint_addresses: tuple[IPAddress, ...]
    outputs: dict[str, Any]

    def client(self, service: str) -> Any:
        return self.session.client(service, region_name=REGION)

    def put_secret(self, value: str) -> None:
        self.client("secretsmanager").put_secret_value(SecretId=self.outputs["clickhouse_password_secret_arn"],
                                                       SecretString=value)

    def add_nlb(self, name: str, scheme: str, addresses: list[str]) -> tuple[IPAddress, ...]:
        """An NLB in the VPC with one interface per address (AWS names them ``ELB net/<name>/<id>``)."""
        arn = self.client("elbv2").create_load_balancer(
            Name=name, Subnets=self.subnet_ids[:len(addresses)], Scheme=scheme, Type="network",
        )["LoadBalancers"][0]["LoadBalancerArn"]
        ec2 = self.client("ec2")
        for subnet, address in zip(self.subnet_ids, addresses):
            ec2.create_network_interface(SubnetId=subnet, PrivateIpAddress=address,
                                         Description="ELB " + arn.split(":loadbalancer/", 1)[1])
        return tuple(ipaddress.ip_address(a) for a in addresses)


def secret_value(**changes: Any) -> str:
    """The JSON the stack writes into the password secret, with ``changes`` applied (None removes a key)."""
    value = {"engine": "clickhouse", "username": USER, "password": PASSWORD, "host": SERVICE_HOST, "port": 8443,
             "native_port": NATIVE_TLS_PORT}
    value.update(changes)
    return json.dumps({k: v for k, v in value.items() if v is not None})


def build_stack(aws: boto3.Session) -> Stack:
    """A dev-shaped PrivateLink stack: VPC, two subnets, the interface endpoint and the password secret."""
    ec2 = aws.client("ec2", region_name=REGION)
    vpc_id = ec2.create_vpc(CidrBlock="10.41.0.0/16")["Vpc"]["VpcId"]
    subnet_ids = [ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=f"{REGION}{zone}")
                  ["Subnet"]["SubnetId"] for cidr, zone in (("10.41.0.0/20", "a"), ("10.41.16.0/20", "b"))]
    endpoint = ec2.create_vpc_endpoint(VpcEndpointType="Interface", VpcId=vpc_id, ServiceName=ENDPOINT_SERVICE,
                                       SubnetIds=subnet_ids, PrivateDnsEnabled=False)["VpcEndpoint"]
    interfaces = ec2.describe_network_interfaces(NetworkInterfaceIds=endpoint["NetworkInterfaceIds"])
    addresses = tuple(sorted(ipaddress.ip_address(i["PrivateIpAddress"]) for i in interfaces["NetworkInterfaces"]))
    # moto gives endpoint interfaces random 10.x addresses, not addresses of their subnets as AWS does; a secondary
    # VPC CIDR (which AWS allows, in the same RFC 1918 block) keeps the account consistent with what AWS would show.
    covered = [ipaddress.ip_network("10.41.0.0/16")]
    for address in addresses:
        if not any(address in net for net in covered):
            covered.append(ipaddress.ip_network(f"{address}/16", strict=False))
            ec2.associate_vpc_cidr_block(VpcId=vpc_id, CidrBlock=str(covered[-1]))
    secret_arn = aws.client("secretsmanager", region_name=REGION).create_secret(
        Name="clickhouse-aws/dev/clickhouse/default", SecretString=secret_value())["ARN"]
    outputs = {
        "aws_region": REGION,
        "clickhouse_url": f"https://{SERVICE_HOST}:8443",
        "clickhouse_user": USER,
        "clickhouse_password_secret_arn": secret_arn,
        "client_security_group_id": "sg-0bb0dd271f0a3b819",
        "endpoint_security_group_id": "sg-016ca005d14454d57",
        "vpc_endpoint_id": endpoint["VpcEndpointId"],
        "vpc_endpoint_service_name": ENDPOINT_SERVICE,
        "private_dns_hostname": SERVICE_HOST,
        "private_dns_zone_id": "Z049C3A10C5D1B8FADBA9",
        "service_id": "67d63f4a-89fb-4b37-83f2-a4c3cb2de7bf",
        "vpc_id": vpc_id,
        "subnet_ids": subnet_ids,
    }
    return Stack(aws, vpc_id, subnet_ids, addresses, outputs)
