"""The AWS SDK settings in the environment, checked before the audit or the connectivity check makes a client.

botocore reads these variables lazily and fails on a bad one deep inside client creation or the first call, with a
bare ``ValueError`` (``AWS_MAX_ATTEMPTS=abc``, ``AWS_ENDPOINT_URL=not-a-url``) or, for a region it cannot place, a
connection error that names neither the variable nor the fix. Checking them up front turns each mistake into one
sentence that names the variable, what it holds and what is expected.
"""

from __future__ import annotations

import re
from typing import Mapping
from urllib.parse import urlsplit

# The shape of every AWS region name (us-east-1, us-gov-west-1, cn-north-1, eu-isoe-west-1, ...).
REGION_PATTERN = r"[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d+"
REGION = re.compile(f"^{REGION_PATTERN}$")
RETRY_MODES = ("legacy", "standard", "adaptive")
# Variables botocore turns into whole numbers with int(); the second item is the smallest sensible value.
_WHOLE_NUMBERS = {"AWS_MAX_ATTEMPTS": 1, "AWS_METADATA_SERVICE_NUM_ATTEMPTS": 1, "AWS_METADATA_SERVICE_TIMEOUT": 1}
_ENDPOINT_PREFIX = "AWS_ENDPOINT_URL"


def _shown(value: str) -> str:
    return repr(value if len(value) <= 80 else value[:77] + "...")


def _whole_number(name: str, value: str, minimum: int) -> str | None:
    if value.strip().isdigit() and int(value) >= minimum:
        return None
    return f"{name} is {_shown(value)}, but it must be a whole number of at least {minimum}"


def _endpoint(name: str, value: str) -> str | None:
    try:
        parts = urlsplit(value.strip())
        hostname = parts.hostname
        parts.port  # noqa: B018 - parsing the port is what raises on a bad one
    except ValueError as err:
        return f"{name} is {_shown(value)}, which is not a URL ({err})"
    if parts.scheme not in ("http", "https") or not hostname:
        return f"{name} is {_shown(value)}, but it must be an http:// or https:// URL with a host name"
    return None


def problems(environ: Mapping[str, str]) -> list[str]:
    """One sentence per AWS setting in ``environ`` that the SDK would choke on or misread; empty when all are usable."""
    found = []
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        value = environ.get(name)
        if value is not None and not REGION.match(value):
            found.append(f"{name} is {_shown(value)}, which is not an AWS region name such as us-east-1")
    mode = environ.get("AWS_RETRY_MODE")
    if mode is not None and mode not in RETRY_MODES:
        found.append(f"AWS_RETRY_MODE is {_shown(mode)}, but it must be one of {', '.join(RETRY_MODES)}")
    for name, minimum in _WHOLE_NUMBERS.items():
        value = environ.get(name)
        if value is not None and (problem := _whole_number(name, value, minimum)):
            found.append(problem)
    for name in sorted(environ):
        if name == _ENDPOINT_PREFIX or name.startswith(_ENDPOINT_PREFIX + "_"):
            if problem := _endpoint(name, environ[name]):
                found.append(problem)
    return found


def settings_error(environ: Mapping[str, str]) -> str | None:
    """The paragraph to print when the environment's AWS settings are unusable, or None."""
    found = problems(environ)
    if not found:
        return None
    return ("The AWS settings in the environment are not usable: " + "; ".join(found)
            + ". Fix or unset them (see `aws configure` and the AWS SDK's environment variables) and run again.")
