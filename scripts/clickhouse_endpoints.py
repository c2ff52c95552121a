"""List and remove stale organization-level private endpoint entries in ClickHouse Cloud.

Upstream bug: deleting the service attachment leaves the endpoint registered on the organization, and attaching a new
endpoint then fails with HTTP 500 until the stale entry is removed. "Stale" here means registered on the organization
but attached to no service. Nothing is removed without ``--yes``.

    python -m scripts.clickhouse_endpoints list
    python -m scripts.clickhouse_endpoints prune [--yes]
    python -m scripts.clickhouse_endpoints remove vpce-0123456789abcdef0 [--yes]

Credentials come from the same variables the ClickHouse provider reads: CLICKHOUSE_ORG_ID, CLICKHOUSE_TOKEN_KEY and
CLICKHOUSE_TOKEN_SECRET (or CLICKHOUSE_CLOUD_API_KEY / CLICKHOUSE_CLOUD_API_SECRET), and CLICKHOUSE_API_URL.
Exit codes: 0 done, 2 bad usage or missing credentials, 3 the API refused or could not be reached.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

DEFAULT_API_URL = "https://api.clickhouse.cloud"
EXIT_OK, EXIT_USAGE, EXIT_API = 0, 2, 3


class UsageError(Exception):
    """Missing credentials or arguments: exit 2."""


class ApiError(Exception):
    """The ClickHouse Cloud API refused the request or could not be reached: exit 3."""


@dataclass(frozen=True)
class Credentials:
    api_url: str
    organization_id: str
    key_id: str
    key_secret: str

    @classmethod
    def from_env(cls, env: Mapping[str, str], organization_id: Optional[str] = None) -> "Credentials":
        def first(*names: str) -> str:
            return next((env[n] for n in names if env.get(n)), "")

        org = organization_id or first("CLICKHOUSE_ORG_ID")
        key = first("CLICKHOUSE_TOKEN_KEY", "CLICKHOUSE_CLOUD_API_KEY")
        secret = first("CLICKHOUSE_TOKEN_SECRET", "CLICKHOUSE_CLOUD_API_SECRET")
        missing = [name for name, value in (("CLICKHOUSE_ORG_ID (or --org)", org),
                                            ("CLICKHOUSE_TOKEN_KEY", key), ("CLICKHOUSE_TOKEN_SECRET", secret)) if not value]
        if missing:
            raise UsageError(f"missing {', '.join(missing)}: set them to an organization ID and an ADMIN API key")
        return cls(first("CLICKHOUSE_API_URL") or DEFAULT_API_URL, org, key, secret)


class ClickHouseCloud:
    """The few ClickHouse Cloud API calls this command needs (v1, basic auth)."""

    def __init__(self, credentials: Credentials, timeout: float = 30.0):
        self.credentials = credentials
        self.timeout = timeout
        token = base64.b64encode(f"{credentials.key_id}:{credentials.key_secret}".encode()).decode()
        self._auth = f"Basic {token}"

    def _call(self, method: str, path: str, body: Optional[dict] = None) -> Any:
        url = f"{self.credentials.api_url.rstrip('/')}/v1/organizations/{self.credentials.organization_id}{path}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method,
                                         headers={"Authorization": self._auth, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"{}").get("result")
        except urllib.error.HTTPError as err:
            detail = err.read().decode(errors="replace")[:300]
            raise ApiError(f"{method} {url} answered HTTP {err.code}: {detail}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as err:
            raise ApiError(f"could not reach {url}: {getattr(err, 'reason', err)}") from None

    def organization_endpoints(self) -> list[dict[str, Any]]:
        return list((self._call("GET", "") or {}).get("privateEndpoints") or [])

    def attached_endpoint_ids(self) -> set[str]:
        return {eid for service in self._call("GET", "/services") or [] for eid in service.get("privateEndpointIds") or []}

    def remove(self, endpoint_ids: Sequence[str]) -> None:
        self._call("PATCH", "", {"privateEndpoints": {"remove": [{"id": eid} for eid in endpoint_ids]}})


def stale(endpoints: Sequence[Mapping[str, Any]], attached: set[str]) -> list[Mapping[str, Any]]:
    """Organization-level entries no service has attached."""
    return [e for e in endpoints if e.get("id") not in attached]


def _describe(endpoint: Mapping[str, Any], attached: set[str]) -> str:
    state = "attached" if endpoint.get("id") in attached else "STALE"
    where = "/".join(str(endpoint[k]) for k in ("cloudProvider", "region") if endpoint.get(k))
    return f"{endpoint.get('id')}\t{state}\t{where}\t{endpoint.get('description') or ''}".rstrip()


def main(argv: Optional[Sequence[str]] = None, env: Optional[Mapping[str, str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.clickhouse_endpoints", description=__doc__.split("\n\n")[0])
    parser.add_argument("--org", help="organization ID (default: CLICKHOUSE_ORG_ID)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="every organization-level private endpoint and whether a service uses it")
    prune = sub.add_parser("prune", help="remove every stale entry")
    prune.add_argument("--yes", action="store_true", help="really remove; without it, only show what would go")
    remove = sub.add_parser("remove", help="remove one entry by VPC endpoint ID")
    remove.add_argument("endpoint_id")
    remove.add_argument("--yes", action="store_true", help="really remove; without it, only show what would go")
    args = parser.parse_args(argv)

    try:
        api = ClickHouseCloud(Credentials.from_env(os.environ if env is None else env, args.org))
        endpoints, attached = api.organization_endpoints(), api.attached_endpoint_ids()
        if args.command == "list":
            for endpoint in endpoints:
                print(_describe(endpoint, attached))
            print(f"{len(endpoints)} endpoint(s), {len(stale(endpoints, attached))} stale")
            return EXIT_OK
        if args.command == "prune":
            targets = [e["id"] for e in stale(endpoints, attached)]
        else:
            known = {e.get("id") for e in endpoints}
            if args.endpoint_id not in known:
                raise UsageError(f"{args.endpoint_id} is not registered on the organization")
            if args.endpoint_id in attached:
                raise UsageError(f"{args.endpoint_id} is attached to a service; remove the attachment first")
            targets = [args.endpoint_id]
        if not targets:
            print("nothing to remove")
            return EXIT_OK
        if not args.yes:
            print("would remove: " + ", ".join(targets) + " (add --yes to remove)")
            return EXIT_OK
        api.remove(targets)
        print("removed: " + ", ".join(targets))
        return EXIT_OK
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except ApiError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_API


if __name__ == "__main__":
    sys.exit(main())
