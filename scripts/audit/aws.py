"""Read-only AWS access for the audit: guarded boto3 clients and the translation of SDK failures into AuditError.

Every client the audit creates carries a botocore ``before-call`` hook that refuses any operation that is not a
Describe/Get/List/Head call (and ``GetSecretValue`` in particular), so a coding mistake cannot change the account or
read the ClickHouse password. Clients come from the given boto3 session with the SDK's usual credential, retry and
endpoint resolution (``AWS_PROFILE``, ``AWS_ENDPOINT_URL``/``AWS_ENDPOINT_URL_<SERVICE>``, ...), so the audit also runs
against a local AWS emulator.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)
from botocore.model import OperationModel

from scripts import aws_session
from scripts.audit.model import AuditError
from scripts.aws_session import (
    ACCESS_DENIED_CODES, CREDENTIALS_REJECTED_CODES, THROTTLING_CODES, error_code, iam_action,
)

READ_ONLY_PREFIXES = ("Describe", "Get", "List", "Head")
# Read-only despite the name: CloudTrail's event history.
READ_ONLY_OPERATIONS = frozenset({"LookupEvents"})
# Read-only by name but discloses secret material; the audit judges the secret's metadata only.
FORBIDDEN_OPERATIONS = frozenset({"GetSecretValue"})

POLICY_DOCUMENT = "docs/audit-iam-policy.json"
# Shows up in CloudTrail's userAgent, so the audit's reads are easy to tell apart.
_CLIENT_CONFIG = Config(user_agent_extra="clickhouse-aws-audit")


class ReadOnlyViolation(AuditError):
    """The audit tried an operation that could change the account or read a secret; it was refused."""


def is_read_only(operation_name: str) -> bool:
    """Whether the audit may call the API operation ``operation_name`` (e.g. ``DescribeVpcEndpoints``)."""
    if operation_name in READ_ONLY_OPERATIONS:
        return True
    return operation_name.startswith(READ_ONLY_PREFIXES) and operation_name not in FORBIDDEN_OPERATIONS


def _action(model: OperationModel) -> str:
    return iam_action(model.service_model.signing_name, model.name)


def refuse_writes(model: OperationModel, **_: Any) -> None:
    """botocore ``before-call`` hook: stop any operation the audit must never send, before it is signed or sent."""
    if not is_read_only(model.name):
        raise ReadOnlyViolation(
            f"The audit refused to call {_action(model)}: it only makes Describe/Get/List/Head calls (and CloudTrail "
            "LookupEvents) and never reads secret values. This is a bug in the audit; nothing was changed in the account."
        )


def translate(err: Exception, action: str) -> AuditError:
    """One clear paragraph for an SDK failure that stops the audit (exit code 2)."""
    if isinstance(err, ClientError):
        code = error_code(err)
        detail = err.response.get("Error", {}).get("Message") or "no message"
        if code in THROTTLING_CODES:
            return AuditError(
                f"AWS throttled {action} ({code}) even after the SDK's retries, so the audit could not finish. "
                "Wait a minute and run it again; to retry harder set AWS_RETRY_MODE=adaptive and AWS_MAX_ATTEMPTS=10."
            )
        if code in ACCESS_DENIED_CODES:
            return AuditError(
                f"AWS denied {action} ({code}: {detail}). The audit needs every read-only action listed in "
                f"{POLICY_DOCUMENT}; attach that policy to the identity that runs the audit and run it again."
            )
        if code in CREDENTIALS_REJECTED_CODES:
            return AuditError(
                f"AWS rejected the credentials on {action} ({code}: {detail}). Refresh them (for example "
                "`aws sso login --profile <profile>`) or export valid keys, then run the audit again."
            )
        return AuditError(f"{action} failed with {code or 'an unknown error'}: {detail}. The audit could not finish.")
    if isinstance(err, (NoCredentialsError, PartialCredentialsError)):
        return AuditError(
            f"No usable AWS credentials were found ({err}). Configure credentials for the account that holds the "
            "stack the usual way (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, `aws sso login`, or an "
            "instance or task role) and run the audit again."
        )
    if isinstance(err, (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)):
        return AuditError(
            f"Could not reach AWS for {action} ({err}). Check the network, proxy settings and any AWS_ENDPOINT_URL "
            "variables, then run the audit again."
        )
    return AuditError(f"The AWS SDK failed on {action}: {err}. The audit could not finish.")


def translated(action: str) -> Any:
    """Turn SDK failures raised inside the block into AuditError; other exceptions pass through."""
    return aws_session.translated(action, translate)


class ReadOnlyAws(aws_session.GuardedClients):
    """Guarded boto3 clients for one region, with helpers that treat "not found" as an answer, not a failure."""

    def __init__(self, session: boto3.Session, region: str):
        super().__init__(session, region, config=_CLIENT_CONFIG, guard=refuse_writes, translate=translate)

    def in_region(self, region: str) -> ReadOnlyAws:
        """The same guarded access in another region (for reads AWS keeps per region, like CloudTrail's history)."""
        return self if region == self.region else ReadOnlyAws(self._session, region)
