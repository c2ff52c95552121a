"""The whole command (``python -m scripts.verify``'s ``main``) against the real ClickHouse server with TLS on loopback,
a moto account shaped like the stack, and name resolution the test controls."""

from __future__ import annotations

import io
import ipaddress
import json
import logging
from typing import Any

from scripts.verify.__main__ import main
from scripts.verify.aws import OPERATIONS
from tests.scripts.verify.support import BYOC_RECORD, PASSWORD, SERVICE_HOST, closed_port, secret_value


def verify(stack, network, *args: str, capsys) -> tuple[int, str, str]:
    code = main(["--outputs", "-", *args], stdin=io.BytesIO(json.dumps(stack.outputs).encode()),
                session=stack.session, network=network)
    out, err = capsys.readouterr()
    return code, out, err


def statuses(out: str) -> dict[str, str]:
    return {check["id"]: check["status"] for check in json.loads(out)["checks"]}


def with_byoc(stack, record: bool = True) -> None:
    stack.outputs["byoc"] = {"vpc_id": stack.vpc_id, "domain": "dev.byoc.internal",
                             **({"clickhouse_record_name": BYOC_RECORD} if record else {})}


def test_a_healthy_stack_passes_every_check(stack, network, pki, capsys, caplog):
    caplog.set_level(logging.DEBUG)  # as an embedding program with DEBUG logging would see it
    code, out, err = verify(stack, network, "--ca-file", str(pki.ca_file), capsys=capsys)
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == f"Connectivity of https://{SERVICE_HOST}:8443 (VPC {stack.vpc_id}, us-east-1)"
    assert [line.split()[:2] for line in lines if not line.startswith(" ")][1:-1] == [
        ["PASS", "dns"], ["PASS", "tls-8443"], ["PASS", "tls-9440"], ["PASS", "credentials"], ["PASS", "query"]]
    assert lines[-1] == "Summary: CLEAN: 5 checks, 5 passed, 0 failed, 0 skipped."
    assert err == ""
    # Only the service's hostname was resolved, and only its endpoint addresses contacted, on the client ports.
    assert set(network.resolved) == {SERVICE_HOST}
    assert set(network.contacted) == {(a, p) for a in stack.endpoint_addresses for p in (8443, 9440)}
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "GetSecretValue" in logged or "secretsmanager" in logged  # the DEBUG logs were really captured
    assert PASSWORD not in out + err + logged


def test_json_report(stack, network, pki, capsys):
    code, out, _ = verify(stack, network, "--ca-file", str(pki.ca_file), "--json", capsys=capsys)
    report = json.loads(out)
    assert code == 0 and report["status"] == "clean" and report["exit_code"] == 0
    assert report["url"] == f"https://{SERVICE_HOST}:8443" and report["vpc_id"] == stack.vpc_id
    assert report["summary"] == {"checks": 5, "passed": 5, "failed": 0, "skipped": 0}
    checks = {check["id"]: check for check in report["checks"]}
    assert checks["dns"]["addresses"] == [str(a) for a in stack.endpoint_addresses]
    assert {c["days_left"] for c in checks["tls-8443"]["certificates"] + checks["tls-9440"]["certificates"]} == {89}
    assert checks["query"]["server_version"]
    assert PASSWORD not in out


def test_a_wrong_password_in_the_secret_fails_the_query_only(stack, network, pki, capsys):
    wrong = "Rotated-Pw-8Hq1-NotOnTheServer"
    stack.put_secret(secret_value(password=wrong))
    code, out, err = verify(stack, network, "--ca-file", str(pki.ca_file), "--json", capsys=capsys)
    assert code == 1 and json.loads(out)["status"] == "findings"
    assert statuses(out) == {"dns": "pass", "tls-8443": "pass", "tls-9440": "pass", "credentials": "pass",
                             "query": "fail"}
    assert "ClickHouse refused user default's credentials from the secret" in out
    assert wrong not in out + err and PASSWORD not in out + err


def test_a_public_answer_fails_dns_and_nothing_is_contacted(stack, network, pki, capsys):
    network.answers[SERVICE_HOST] = (ipaddress.ip_address("3.5.140.2"),)
    code, out, _ = verify(stack, network, "--ca-file", str(pki.ca_file), "--json", capsys=capsys)
    assert code == 1
    assert statuses(out) == {"dns": "fail", "tls-8443": "skip", "tls-9440": "skip", "credentials": "pass",
                             "query": "skip"}
    assert network.contacted == []


def test_a_name_that_does_not_resolve_here_says_where_to_run(stack, network, pki, capsys):
    network.answers.clear()
    code, out, _ = verify(stack, network, "--ca-file", str(pki.ca_file), capsys=capsys)
    assert code == 1
    assert f"FAIL  dns          {SERVICE_HOST} does not resolve from this host: no such name (NXDOMAIN)" in out


def test_the_system_trust_store_does_not_vouch_for_a_private_ca(stack, network, capsys):
    code, out, _ = verify(stack, network, "--json", capsys=capsys)
    assert code == 1
    assert statuses(out) == {"dns": "pass", "tls-8443": "fail", "tls-9440": "fail", "credentials": "pass",
                             "query": "fail"}
    assert "unable to get local issuer certificate" in out


def test_an_unusable_ca_file_is_a_usage_error(stack, network, tmp_path, capsys):
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate")
    code, _, err = verify(stack, network, "--ca-file", str(bogus), capsys=capsys)
    assert code == 2 and f"The CA file {bogus} holds no usable PEM certificates" in err
    code, _, err = verify(stack, network, "--ca-file", str(tmp_path), capsys=capsys)
    assert code == 2 and "does not exist or is not a file" in err
    assert network.resolved == []


def test_byoc_record_resolves_to_the_internal_nlb_which_forwards_to_clickhouse(stack, network, clickhouse, pki,
                                                                              capsys):
    nlb = stack.add_nlb("clickhouse-private", "internal", ["10.41.0.50", "10.41.16.50"])
    network.answers[BYOC_RECORD] = nlb
    network.send(nlb, clickhouse)
    with_byoc(stack)
    recorded: list[tuple[str, str]] = []

    def record(model: Any, **_: Any) -> None:
        recorded.append((model.service_model.signing_name, model.name))
    stack.session.events.register("before-call", record)
    code, out, _ = verify(stack, network, "--ca-file", str(pki.ca_file), capsys=capsys)
    assert code == 0, out
    assert "PASS  byoc-dns     clickhouse.dev.byoc.internal resolves to 10.41.0.50, 10.41.16.50: private " \
           f"addresses of the internal NLB clickhouse-private in {stack.vpc_id}." in out
    assert "PASS  byoc-ports   clickhouse.dev.byoc.internal accepts TCP on 8443 and 9440 at every address." in out
    # A full run calls every operation the policy document grants, and nothing else.
    assert set(recorded) == OPERATIONS


def test_byoc_record_pointing_at_an_internet_facing_nlb_fails(stack, network, clickhouse, pki, capsys):
    public = stack.add_nlb("clickhouse-public", "internet-facing", ["10.41.0.80"])
    stack.add_nlb("clickhouse-private", "internal", ["10.41.0.50"])
    network.answers[BYOC_RECORD] = public
    with_byoc(stack)
    code, out, _ = verify(stack, network, "--ca-file", str(pki.ca_file), "--json", capsys=capsys)
    assert code == 1
    assert statuses(out)["byoc-dns"] == "fail" and statuses(out)["byoc-ports"] == "skip"
    assert all(address not in public for address, _ in network.contacted)


def test_byoc_before_phase_3_skips_the_record_checks(stack, network, pki, capsys):
    with_byoc(stack, record=False)
    code, out, _ = verify(stack, network, "--ca-file", str(pki.ca_file), capsys=capsys)
    assert code == 0
    assert "SKIP  byoc-dns     The outputs have no byoc.clickhouse_record_name yet" in out
    assert out.splitlines()[-1] == "Summary: CLEAN: 7 checks, 5 passed, 0 failed, 2 skipped."


def test_an_nlb_port_that_is_closed_fails_the_port_check(stack, network, clickhouse, pki, capsys):
    nlb = stack.add_nlb("clickhouse-private", "internal", ["10.41.0.50"])
    network.answers[BYOC_RECORD] = nlb
    network.routes[(nlb[0], 8443)] = ("127.0.0.1", clickhouse.https_port)
    network.routes[(nlb[0], 9440)] = ("127.0.0.1", closed_port())
    with_byoc(stack)
    code, out, _ = verify(stack, network, "--ca-file", str(pki.ca_file), capsys=capsys)
    assert code == 1
    assert "FAIL  byoc-ports   1 of 2 connections to clickhouse.dev.byoc.internal on 8443 and 9440 failed." in out
    assert "      - 10.41.0.50:9440: connection refused (nothing listens on that port)" in out
