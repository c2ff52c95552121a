"""The ClickHouse password secret: parsing its JSON and checking it agrees with the outputs.

The stack writes ``{"engine", "username", "password", "host", "port", "native_port"}``. The password only ever lives
in ``Credentials.password`` (left out of its repr) and is handed to the query check; no message here quotes the
secret's text, only the names of its fields.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from scripts.verify.outputs import StackTarget, hostname
from scripts.verify.report import CheckResult, failed, passed

CHECK_ID = "credentials"
TITLE = "The password secret is readable and names the outputs' user, host and ports"
NATIVE_TLS_PORT = 9440  # ClickHouse Cloud's native protocol over TLS; the outputs carry only the HTTPS port


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)


def _port(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536 else None


def check_credentials(target: StackTarget, secret: str | None) -> tuple[CheckResult, Credentials | None]:
    """The check's result, and the credentials when the secret holds a usable user and password."""
    where = f"secret {target.secret_arn}"
    if secret is None:
        return failed(CHECK_ID, TITLE, f"The {where} does not exist in {target.region}."), None
    try:
        value = json.loads(secret)
    except (ValueError, RecursionError):
        # Never quote the text: it is the secret.
        return failed(CHECK_ID, TITLE, f"The {where} does not hold a JSON object (the stack writes one)."), None
    if not isinstance(value, dict):
        return failed(CHECK_ID, TITLE, f"The {where} does not hold a JSON object (the stack writes one)."), None
    username, password = value.get("username"), value.get("password")
    if not isinstance(password, str) or not password:
        return failed(CHECK_ID, TITLE, f"The {where} has no non-empty 'password' string."), None
    if not isinstance(username, str) or not username:
        return failed(CHECK_ID, TITLE, f"The {where} has no non-empty 'username' string."), None

    problems = []
    if username != target.user:
        problems.append(f"'username' is {username!r}, but output 'clickhouse_user' is {target.user!r}")
    host = value.get("host")
    if not isinstance(host, str) or hostname(host) != target.host:
        problems.append(f"'host' is {host!r}, but the service's hostname is {target.host!r}")
    if _port(value.get("port")) != target.https_port:
        problems.append(f"'port' is {value.get('port')!r}, but clickhouse_url's port is {target.https_port}")
    if "native_port" in value and _port(value["native_port"]) != NATIVE_TLS_PORT:
        problems.append(f"'native_port' is {value['native_port']!r}, not {NATIVE_TLS_PORT}")
    credentials = Credentials(username, password)
    if problems:
        # Applications read the secret: a disagreement sends them somewhere the outputs do not describe.
        return failed(CHECK_ID, TITLE, f"The {where} disagrees with the outputs.", tuple(problems)), credentials
    return passed(CHECK_ID, TITLE, f"The {where} names user {username}, host {target.host}, port "
                  f"{target.https_port}, as the outputs do."), credentials
