"""Read-only AWS access for the audit: guarded boto3 clients and the translation of SDK failures into AuditError.

Every client the audit creates carries a botocore ``before-call`` hook that refuses any operation that is not a
Describe/Get/List/Head call (and ``GetSecretValue`` in particular), so a coding mistake cannot change the account or
read the ClickHouse password. Clients come from the given boto3 session with the SDK's usual credential, retry and
endpoint resolution (``AWS_PROFILE``, ``AWS_ENDPOINT_URL``/``AWS_ENDPOINT_URL_<SERVICE>``, ...), so the audit also runs
against a local AWS emulator.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)
from botocore.model import OperationModel

from scripts.audit.model import AuditError

READ_ONLY_PREFIXES = ("Describe", "Get", "List", "Head")
# Read-only despite the name: CloudTrail's event history.
READ_ONLY_OPERATIONS = frozenset({"LookupEvents"})
# Read-only by name but discloses secret material; the audit judges the secret's metadata only.
FORBIDDEN_OPERATIONS = frozenset({"GetSecretValue"})

# API operations whose IAM action is not "<service>:<OperationName>".
_IAM_ACTION_NAMES = {
    ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
}

# Error codes AWS services use for throttling (the list botocore's standard retry mode treats as throttles).
THROTTLING_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
    "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown",
    "PriorRequestNotComplete", "EC2ThrottledException",
})
ACCESS_DENIED_CODES = frozenset({
    "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess", "Forbidden",
    "AuthorizationError",
})
CREDENTIALS_REJECTED_CODES = frozenset({
    "InvalidClientTokenId", "UnrecognizedClientException", "ExpiredToken", "ExpiredTokenException", "RequestExpired",
    "SignatureDoesNotMatch", "InvalidSignatureException", "AuthFailure", "InvalidAccessKeyId", "InvalidToken",
})

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


# Services that sign requests under another name than their IAM prefix.
_IAM_PREFIXES = {"monitoring": "cloudwatch"}


def iam_action(service_prefix: str, operation_name: str) -> str:
    """The IAM action that authorises an API operation, e.g. ``("s3", "GetBucketEncryption")`` (the prefix as the
    SDK signs it)."""
    prefix = _IAM_PREFIXES.get(service_prefix, service_prefix)
    return _IAM_ACTION_NAMES.get((service_prefix, operation_name), f"{prefix}:{operation_name}")


def _action(model: OperationModel) -> str:
    return iam_action(model.service_model.signing_name, model.name)


def refuse_writes(model: OperationModel, **_: Any) -> None:
    """botocore ``before-call`` hook: stop any operation the audit must never send, before it is signed or sent."""
    if not is_read_only(model.name):
        raise ReadOnlyViolation(
            f"The audit refused to call {_action(model)}: it only makes Describe/Get/List/Head calls (and CloudTrail "
            "LookupEvents) and never reads secret values. This is a bug in the audit; nothing was changed in the account."
        )


def error_code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


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


@contextmanager
def translated(action: str) -> Iterator[None]:
    """Turn SDK failures raised inside the block into AuditError; other exceptions pass through."""
    try:
        yield
    except (ClientError, BotoCoreError) as err:
        raise translate(err, action) from None


class ReadOnlyAws:
    """Guarded boto3 clients for one region, with helpers that treat "not found" as an answer, not a failure."""

    def __init__(self, session: boto3.Session, region: str):
        self._session = session
        self.region = region
        self._clients: dict[str, BaseClient] = {}

    def in_region(self, region: str) -> ReadOnlyAws:
        """The same guarded access in another region (for reads AWS keeps per region, like CloudTrail's history)."""
        return self if region == self.region else ReadOnlyAws(self._session, region)

    def client(self, service: str) -> BaseClient:
        if service not in self._clients:
            with translated(f"creating the {service} client"):
                client = self._session.client(service, region_name=self.region, config=_CLIENT_CONFIG)
            # Once per client, also when a session hands out the same client again.
            client.meta.events.register("before-call", refuse_writes, unique_id="audit-refuse-writes")
            self._clients[service] = client
        return self._clients[service]

    def _action(self, client: BaseClient, method: str) -> str:
        return iam_action(client.meta.service_model.signing_name, client.meta.method_to_api_mapping[method])

    def call(self, service: str, method: str, *, missing: frozenset[str] = frozenset(), **params: Any) -> Any:
        """``client.<method>(**params)``; None when AWS answers with one of the ``missing`` error codes."""
        client = self.client(service)
        with translated(self._action(client, method)):
            try:
                return getattr(client, method)(**params)
            except ClientError as err:
                if error_code(err) in missing:
                    return None
                raise

    def items(self, service: str, method: str, result_key: str, **params: Any) -> list[Any]:
        """Every ``result_key`` item across all pages of a paginated call."""
        client = self.client(service)
        with translated(self._action(client, method)):
            pages = client.get_paginator(method).paginate(**params)
            return [item for page in pages for item in page.get(result_key, [])]
