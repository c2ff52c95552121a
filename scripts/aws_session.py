"""Guarded boto3 clients shared by the read-only tools (``scripts.audit``, ``scripts.verify``).

Each tool makes its clients from one session and region, registers a botocore ``before-call`` guard on every client
(so an operation the tool must never send is refused before it is signed), treats some "not found" answers as
answers rather than failures, and turns every other SDK failure into its own error with its own advice. The
mechanics live here once; each tool keeps its guard, its client configuration and its wording.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

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

# API operations whose IAM action is not "<service>:<OperationName>".
_IAM_ACTION_NAMES = {
    ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
}

Translate = Callable[[Exception, str], Exception]


def error_code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


# Services that sign requests under another name than their IAM prefix.
_IAM_PREFIXES = {"monitoring": "cloudwatch"}


def iam_action(service_prefix: str, operation_name: str) -> str:
    """The IAM action that authorises an API operation, e.g. ``("s3", "GetBucketEncryption")`` (the prefix as the
    SDK signs it)."""
    prefix = _IAM_PREFIXES.get(service_prefix, service_prefix)
    return _IAM_ACTION_NAMES.get((service_prefix, operation_name), f"{prefix}:{operation_name}")


@contextmanager
def translated(action: str, translate: Translate, failures: tuple[type[Exception], ...] = (ClientError, BotoCoreError),
               ) -> Iterator[None]:
    """Turn the ``failures`` raised inside the block into the tool's error; other exceptions pass through."""
    try:
        yield
    except failures as err:
        raise translate(err, action) from None


class GuardedClients:
    """One session's clients for one region, each carrying ``guard`` as its ``before-call`` hook."""

    def __init__(self, session: boto3.Session, region: str, *, config: Config, guard: Callable[..., None],
                 translate: Translate, failures: tuple[type[Exception], ...] = (ClientError, BotoCoreError)):
        self._session = session
        self.region = region
        self._config = config
        self._guard = guard
        self._failures = failures
        self.translate = translate
        self._clients: dict[str, BaseClient] = {}

    def translated(self, action: str) -> Any:
        return translated(action, self.translate, self._failures)

    def client(self, service: str) -> BaseClient:
        if service not in self._clients:
            with self.translated(f"creating the {service} client"):
                client = self._session.client(service, region_name=self.region, config=self._config)
            # Once per client, also when a session hands out the same client again.
            client.meta.events.register("before-call", self._guard, unique_id=f"guard-{self._guard.__module__}.{self._guard.__qualname__}")
            self._clients[service] = client
        return self._clients[service]

    @staticmethod
    def action(client: BaseClient, method: str) -> str:
        """The IAM action of a client method, as the policy documents name it (e.g. ``ec2:DescribeVpcs``)."""
        return iam_action(client.meta.service_model.signing_name, client.meta.method_to_api_mapping[method])

    def call(self, service: str, method: str, *, missing: frozenset[str] = frozenset(), **params: Any) -> Any:
        """``client.<method>(**params)``; None when AWS answers with one of the ``missing`` error codes."""
        client = self.client(service)
        with self.translated(self.action(client, method)):
            try:
                return getattr(client, method)(**params)
            except ClientError as err:
                if error_code(err) in missing:
                    return None
                raise

    def items(self, service: str, method: str, result_key: str, **params: Any) -> list[Any]:
        """Every ``result_key`` item across all pages of a paginated call."""
        client = self.client(service)
        with self.translated(self.action(client, method)):
            pages = client.get_paginator(method).paginate(**params)
            return [item for page in pages for item in page.get(result_key, [])]
