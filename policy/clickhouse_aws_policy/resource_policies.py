"""Nothing the stack owns is callable by everyone: every resource policy goes through one IAM evaluator.

A resource policy is found by what it is, not by the name of the input that holds it: any input of any resource that
is a policy document with a ``Principal`` or ``NotPrincipal`` is judged (role trust policies excepted: the ``iam``
module judges those). The resource types below say which input holds their policy, so that a policy unknown at preview
is reported too. S3 and KMS keep the policy names they always had; everything else reports under
``resource-policy-no-public-principal``. Permissions that are not documents (Lambda permissions, function URLs, layer
permissions, S3 ACLs) are read field by field with the same meaning of "public".
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

from pulumi_policy import Severity

from .evaluation.iam_documents import (
    ENDPOINT_KEYS,
    IDENTITY_KEYS,
    looks_like_document,
    parse,
    public_grants,
    value_pins,
)
from .framework import Check, parse_or_report, resource_policy
from .values import dig, is_unknown, walk

# Where each resource type keeps its resource policy (dotted paths for nested inputs).
POLICY_INPUTS = {
    "aws:s3/bucket:Bucket": "policy",
    "aws:s3/bucketV2:BucketV2": "policy",
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
    "aws:s3/accessPoint:AccessPoint": "policy",
    "aws:s3control/accessPointPolicy:AccessPointPolicy": "policy",
    "aws:s3control/bucketPolicy:BucketPolicy": "policy",
    "aws:s3control/objectLambdaAccessPointPolicy:ObjectLambdaAccessPointPolicy": "policy",
    "aws:s3control/multiRegionAccessPointPolicy:MultiRegionAccessPointPolicy": "details.policy",
    "aws:s3/directoryBucketPolicy:DirectoryBucketPolicy": "policy",
    "aws:kms/key:Key": "policy",
    "aws:kms/keyPolicy:KeyPolicy": "policy",
    "aws:kms/replicaKey:ReplicaKey": "policy",
    "aws:kms/externalKey:ExternalKey": "policy",
    "aws:kms/replicaExternalKey:ReplicaExternalKey": "policy",
    "aws:secretsmanager/secret:Secret": "policy",
    "aws:secretsmanager/secretPolicy:SecretPolicy": "policy",
    "aws:sns/topic:Topic": "policy",
    "aws:sns/topicPolicy:TopicPolicy": "policy",
    "aws:sqs/queue:Queue": "policy",
    "aws:sqs/queuePolicy:QueuePolicy": "policy",
    "aws:ecr/repositoryPolicy:RepositoryPolicy": "policy",
    "aws:ecr/registryPolicy:RegistryPolicy": "policy",
    "aws:ecrpublic/repositoryPolicy:RepositoryPolicy": "policy",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "policy",
    "aws:ec2/vpcEndpointPolicy:VpcEndpointPolicy": "policy",
    "aws:lambda/resourcePolicy:ResourcePolicy": "policy",
    "aws:backup/vaultPolicy:VaultPolicy": "policy",
    "aws:efs/fileSystemPolicy:FileSystemPolicy": "policy",
    "aws:glacier/vault:Vault": "accessPolicy",
    "aws:opensearch/domain:Domain": "accessPolicies",
    "aws:opensearch/domainPolicy:DomainPolicy": "accessPolicies",
    "aws:elasticsearch/domain:Domain": "accessPolicies",
    "aws:elasticsearch/domainPolicy:DomainPolicy": "accessPolicies",
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": "policyDocument",
    "aws:cloudwatch/eventBusPolicy:EventBusPolicy": "policy",
    "aws:apigateway/restApi:RestApi": "policy",
    "aws:apigateway/restApiPolicy:RestApiPolicy": "policy",
    "aws:glue/resourcePolicy:ResourcePolicy": "policy",
    "aws:dynamodb/resourcePolicy:ResourcePolicy": "policy",
    "aws:kinesis/resourcePolicy:ResourcePolicy": "policy",
    "aws:codeartifact/repositoryPermissionsPolicy:RepositoryPermissionsPolicy": "policyDocument",
    "aws:codeartifact/domainPermissions:DomainPermissions": "policyDocument",
}
# Inputs that hold other documents: trust policies are judged by the iam module, identity policies have no principal.
_NOT_RESOURCE_POLICIES = frozenset({"assumeRolePolicy"})
VPC_ENDPOINT_TYPES = frozenset({"aws:ec2/vpcEndpoint:VpcEndpoint", "aws:ec2/vpcEndpointPolicy:VpcEndpointPolicy"})


def _documents(check: Check) -> Iterator[tuple[str, Any]]:
    """(path, value) of every resource policy among the resource's inputs: the declared one even if unknown, and any
    other input that is a document naming principals."""
    declared = POLICY_INPUTS.get(check.resource.type)
    if declared is not None:
        value = dig(check.props, *declared.split("."))
        if value is not None:
            yield declared, value
    for path, key, value in walk(check.props, prune=looks_like_document):
        if path == declared or key in _NOT_RESOURCE_POLICIES or not looks_like_document(value):
            continue
        try:
            document = parse(value)
        except ValueError:
            continue
        if document and not is_unknown(document) and any("Principal" in s.raw or "NotPrincipal" in s.raw
                                                          for s in document.statements):
            yield path, value


def _judge_documents(check: Check, what: str) -> None:
    keys = ENDPOINT_KEYS if check.resource.type in VPC_ENDPOINT_TYPES else IDENTITY_KEYS
    for path, value in _documents(check):
        label = f"The {what} ({path})"
        document = parse_or_report(check.report, value, label)
        for grant in public_grants(document, keys) if document else ():
            check.report(f"{label}: {grant}.")


_PUBLIC_ACLS = frozenset({"public-read", "public-read-write", "authenticated-read"})
_PUBLIC_GRANTEES = ("/global/AllUsers", "/global/AuthenticatedUsers")


def _s3_acls(check: Check) -> None:
    acl = check.props.get("acl")
    if is_unknown(acl):
        check.report("acl is unknown until the update; a public canned ACL cannot be ruled out at preview.")
    elif isinstance(acl, str) and acl.lower() in _PUBLIC_ACLS:
        check.report(f"acl is {acl!r}: everyone (or every AWS account) can read the bucket or its objects.")
    # Grants to the global groups, wherever the resource keeps them (accessControlPolicy.grants, grants, ...).
    for path, key, value in walk(check.props):
        if key == "uri" and isinstance(value, str) and value.endswith(_PUBLIC_GRANTEES):
            check.report(f"{path} grants access to {value}.")


def _family(what: str, extra: Callable[[Check], None] | None = None):
    def validate(check: Check) -> None:
        _judge_documents(check, what)
        if extra is not None:
            extra(check)
    return validate


S3_FAMILY = ("aws:s3/", "aws:s3control/")
KMS_FAMILY = ("aws:kms/",)


s3_bucket_policy_no_public_principal = resource_policy(
    "s3-bucket-policy-no-public-principal",
    "S3 bucket and access point policies and ACLs grant nothing to everyone.",
    Severity.CRITICAL,
    _family("bucket policy", _s3_acls),
    type_prefixes=S3_FAMILY,
)

kms_key_policy_no_public_principal = resource_policy(
    "kms-key-policy-no-public-principal",
    "KMS key policies grant nothing to '*' without a condition that restricts who.",
    Severity.CRITICAL,
    _family("key policy"),
    type_prefixes=KMS_FAMILY,
)


def _open_principal(check: Check, principal: Any, guards: dict[str, str], what: str) -> None:
    """A permission resource open to every principal unless one of its ``guards`` inputs (mapped to the condition
    key it stands for) names one caller."""
    if is_unknown(principal):
        check.report(f"principal is unknown until the update; {what} cannot be verified at preview.")
        return
    if not (isinstance(principal, str) and "*" in principal):
        return
    values = {g: check.props.get(g) for g in guards}
    if any(v is not None and not is_unknown(v) and value_pins(guards[g], v) for g, v in values.items()):
        return
    if any(is_unknown(v) for v in values.values()):
        check.report(f"principal is {principal!r} and {'/'.join(guards)} are unknown until the update; {what} "
                     "cannot be verified at preview.")
    else:
        check.report(f"principal is {principal!r} without a {', '.join(guards)} that names one caller: {what} is "
                     "open to everyone.")


def _permissions(check: Check) -> None:
    rtype = check.resource.type
    if rtype.startswith(S3_FAMILY + KMS_FAMILY):
        return
    _judge_documents(check, "resource policy")
    if rtype == "aws:lambda/permission:Permission":
        _open_principal(check, check.props.get("principal"), {
            "sourceArn": "aws:SourceArn", "sourceAccount": "aws:SourceAccount", "principalOrgId": "aws:PrincipalOrgID",
        }, "invoking the function")
    elif rtype == "aws:lambda/layerVersionPermission:LayerVersionPermission":
        _open_principal(check, check.props.get("principal"), {"organizationId": "aws:PrincipalOrgID"},
                        "using the layer")
    elif rtype == "aws:lambda/functionUrl:FunctionUrl":
        auth = check.props.get("authorizationType")
        if is_unknown(auth):
            check.report("authorizationType is unknown until the update; the function URL may be open to everyone.")
        elif str(auth).upper() == "NONE":
            check.report("authorizationType is NONE: anyone on the internet can invoke the function URL.")


resource_policy_no_public_principal = resource_policy(
    "resource-policy-no-public-principal",
    "Resource policies (Secrets Manager, SNS, SQS, ECR, VPC endpoints, Lambda, ...) grant nothing to everyone.",
    Severity.CRITICAL,
    _permissions,
    type_prefixes=("aws:",),
)

POLICIES = [
    s3_bucket_policy_no_public_principal,
    kms_key_policy_no_public_principal,
    resource_policy_no_public_principal,
]
