"""scripts.clickhouse_endpoints against a loopback HTTP server that plays the ClickHouse Cloud API."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from scripts.clickhouse_endpoints import main

ORG = "7a1c2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
ATTACHED, STALE = "vpce-0aaaaaaaaaaaaaaaa", "vpce-0bbbbbbbbbbbbbbbb"


class FakeCloud:
    def __init__(self, status: int = 200):
        self.status = status
        self.requests: list[tuple[str, str, str, object]] = []
        self.endpoints = [{"id": ATTACHED, "cloudProvider": "aws", "region": "us-east-1", "description": "current"},
                          {"id": STALE, "cloudProvider": "aws", "region": "us-east-1", "description": "old"}]

    def handler(self):
        cloud = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, result):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                cloud.requests.append((self.command, self.path, self.headers.get("Authorization"), body))
                self.send_response(cloud.status)
                self.end_headers()
                self.wfile.write(json.dumps({"status": cloud.status, "result": result} if cloud.status == 200
                                            else {"status": cloud.status, "error": "Unauthorized"}).encode())

            def do_GET(self):
                if self.path.endswith("/services"):
                    self._answer([{"id": "svc", "privateEndpointIds": [ATTACHED]}])
                else:
                    self._answer({"id": ORG, "privateEndpoints": cloud.endpoints})

            def do_PATCH(self):
                self._answer({"id": ORG})

        return Handler


@pytest.fixture()
def cloud():
    fake = FakeCloud()
    server = ThreadingHTTPServer(("127.0.0.1", 0), fake.handler())
    # shutdown() waits for the serving loop to notice; the default half-second poll would cost that per test.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    fake.env = {"CLICKHOUSE_API_URL": f"http://127.0.0.1:{server.server_address[1]}", "CLICKHOUSE_ORG_ID": ORG,
                "CLICKHOUSE_TOKEN_KEY": "key-id", "CLICKHOUSE_TOKEN_SECRET": "key-secret"}
    yield fake
    server.shutdown()
    server.server_close()
    thread.join()


def test_list_marks_entries_no_service_uses_as_stale(cloud, capsys):
    assert main(["list"], cloud.env) == 0
    out = capsys.readouterr().out
    assert f"{ATTACHED}\tattached\taws/us-east-1\tcurrent" in out
    assert f"{STALE}\tSTALE\taws/us-east-1\told" in out
    assert "2 endpoint(s), 1 stale" in out
    method, path, auth, _ = cloud.requests[0]
    assert (method, path) == ("GET", f"/v1/organizations/{ORG}")
    assert auth == "Basic " + base64.b64encode(b"key-id:key-secret").decode()


def test_prune_is_a_dry_run_without_yes(cloud, capsys):
    assert main(["prune"], cloud.env) == 0
    assert f"would remove: {STALE}" in capsys.readouterr().out
    assert not [r for r in cloud.requests if r[0] == "PATCH"]


def test_prune_with_yes_removes_only_stale_entries(cloud, capsys):
    assert main(["prune", "--yes"], cloud.env) == 0
    (patch,) = [r for r in cloud.requests if r[0] == "PATCH"]
    assert patch[1] == f"/v1/organizations/{ORG}"
    assert patch[3] == {"privateEndpoints": {"remove": [{"id": STALE}]}}


def test_an_attached_endpoint_is_never_removed(cloud, capsys):
    assert main(["remove", ATTACHED, "--yes"], cloud.env) == 2
    assert "attached to a service" in capsys.readouterr().err
    assert not [r for r in cloud.requests if r[0] == "PATCH"]


def test_newer_variable_names_are_accepted(cloud):
    env = {**cloud.env, "CLICKHOUSE_CLOUD_API_KEY": "new-id", "CLICKHOUSE_CLOUD_API_SECRET": "new-secret"}
    del env["CLICKHOUSE_TOKEN_KEY"], env["CLICKHOUSE_TOKEN_SECRET"]
    assert main(["list"], env) == 0
    assert cloud.requests[0][2] == "Basic " + base64.b64encode(b"new-id:new-secret").decode()


def test_missing_credentials_exit_2_with_what_to_set(capsys):
    assert main(["list"], {}) == 2
    err = capsys.readouterr().err
    assert "CLICKHOUSE_ORG_ID" in err and "CLICKHOUSE_TOKEN_KEY" in err and "Traceback" not in err


def test_an_api_refusal_exits_3_with_the_status(cloud, capsys):
    cloud.status = 401
    assert main(["list"], cloud.env) == 3
    err = capsys.readouterr().err
    assert "HTTP 401" in err and "Traceback" not in err


def test_an_unreachable_api_exits_3(capsys):
    env = {"CLICKHOUSE_API_URL": "http://127.0.0.1:9", "CLICKHOUSE_ORG_ID": ORG,
           "CLICKHOUSE_TOKEN_KEY": "k", "CLICKHOUSE_TOKEN_SECRET": "s"}
    assert main(["list"], env) == 3
    assert "could not reach" in capsys.readouterr().err
