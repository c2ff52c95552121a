"""resource_policies: every resource policy the stack can carry, judged by the one IAM evaluator."""

from __future__ import annotations

import pytest
from pulumi.runtime.rpc import UNKNOWN

BUCKET = "aws:s3/bucket:Bucket"
KEY = "aws:kms/key:Key"
ROOT_ADMIN = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "kms:*",
              "Resource": "*"}


class TestBucketPolicyPrincipal:
    policy = "s3-bucket-policy-no-public-principal"
    token = "aws:s3/bucketPolicy:BucketPolicy"
    public_read = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}

    def test_public_grant_is_blocked(self, pack) -> None:
        for principal in ("*", {"AWS": "*"}, {"AWS": ["arn:aws:iam::123456789012:root", "*"]}):
            statement = {**self.public_read, "Principal": principal}
            assert len(pack.blocking(self.policy, self.token, {"bucket": "b", "policy": pack.doc(statement)})) == 1

    def test_grant_restricted_to_an_endpoint_or_deny_passes(self, pack) -> None:
        scoped = {**self.public_read, "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}}}
        deny = {**self.public_read, "Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
        assert pack.blocking(self.policy, self.token, {"bucket": "b", "policy": pack.doc(scoped, deny)}) == []

    def test_transport_condition_does_not_restrict_who(self, pack) -> None:
        tls_only = {**self.public_read, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}
        assert len(pack.blocking(self.policy, self.token, {"bucket": "b", "policy": pack.doc(tls_only)})) == 1

    def test_inline_bucket_policy_is_judged(self, pack) -> None:
        assert len(pack.blocking(self.policy, BUCKET, {"bucket": "b", "policy": pack.doc(self.public_read)})) == 1

    def test_unknown_policy_is_blocked(self, pack) -> None:
        found = pack.blocking(self.policy, self.token, {"bucket": "b", "policy": UNKNOWN})
        assert len(found) == 1 and "unknown" in found[0]


class TestKeyPolicy:
    policy = "kms-key-policy-no-public-principal"

    def test_account_scoped_policy_passes(self, pack) -> None:
        via_account = {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*",
                       "Condition": {"StringEquals": {"kms:CallerAccount": "123456789012",
                                                      "kms:ViaService": "ec2.us-east-1.amazonaws.com"}}}
        assert pack.messages(self.policy, KEY, {"policy": pack.doc(ROOT_ADMIN, via_account)}) == []

    @pytest.mark.parametrize("token", [KEY, "aws:kms/keyPolicy:KeyPolicy"])
    def test_public_principal_is_blocked(self, pack, token: str) -> None:
        public = {"Sid": "Everyone", "Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"}
        messages = pack.messages(self.policy, token, {"keyId": "k", "policy": pack.doc(ROOT_ADMIN, public)})
        assert len(messages) == 1 and "statement Everyone" in messages[0]

    @pytest.mark.parametrize("policy,text", [(UNKNOWN, "unknown"), ("{not json", "not valid JSON")])
    def test_unverifiable_policy_is_blocked(self, pack, policy: str, text: str) -> None:
        messages = pack.messages(self.policy, KEY, {"policy": policy})
        assert len(messages) == 1 and text in messages[0]




class TestEveryResourcePolicy:
    policy = "resource-policy-no-public-principal"
    anyone = {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}
    own_account = {"StringEquals": {"aws:PrincipalAccount": "123456789012"}}

    @pytest.mark.parametrize("token", [
        "aws:secretsmanager/secret:Secret", "aws:secretsmanager/secretPolicy:SecretPolicy",
        "aws:sns/topic:Topic", "aws:sns/topicPolicy:TopicPolicy",
        "aws:sqs/queue:Queue", "aws:sqs/queuePolicy:QueuePolicy",
        "aws:ecr/repositoryPolicy:RepositoryPolicy", "aws:ecrpublic/repositoryPolicy:RepositoryPolicy",
        "aws:ec2/vpcEndpoint:VpcEndpoint", "aws:ec2/vpcEndpointPolicy:VpcEndpointPolicy",
        "aws:backup/vaultPolicy:VaultPolicy", "aws:efs/fileSystemPolicy:FileSystemPolicy",
    ])
    def test_public_policies_are_blocked_and_narrowed_ones_pass(self, pack, token: str) -> None:
        assert len(pack.blocking(self.policy, token, {"policy": pack.doc(self.anyone)})) == 1
        narrowed = {**self.anyone, "Condition": self.own_account}
        assert pack.blocking(self.policy, token, {"policy": pack.doc(narrowed)}) == []
        assert "unknown" in pack.blocking(self.policy, token, {"policy": UNKNOWN})[0]

    def test_policies_in_inputs_of_any_name_are_found(self, pack) -> None:
        props = {"name": "d", "accessPolicies": pack.doc(self.anyone)}
        found = pack.blocking(self.policy, "aws:opensearch/domain:Domain", props)
        assert len(found) == 1 and "accessPolicies" in found[0]
        assert len(pack.blocking(self.policy, "aws:some/future:Resource", {"resourcePolicy": self.anyone_doc(pack)}))

    @staticmethod
    def anyone_doc(pack) -> str:
        return pack.doc({"Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": "x:*", "Resource": "*"})

    def test_identity_and_trust_policies_are_not_resource_policies(self, pack) -> None:
        identity = pack.doc({"Effect": "Allow", "Action": "*", "Resource": "*"})
        trust = pack.doc({"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"})
        assert pack.blocking(self.policy, "aws:iam/policy:Policy", {"policy": identity}) == []
        assert pack.blocking(self.policy, "aws:iam/role:Role", {"assumeRolePolicy": trust}) == []

    def test_endpoint_policies_may_pin_the_resources_reached(self, pack) -> None:
        to_own = {**self.anyone, "Condition": {"StringEquals": {"aws:ResourceAccount": "123456789012"}}}
        assert pack.blocking(self.policy, "aws:ec2/vpcEndpoint:VpcEndpoint", {"policy": pack.doc(to_own)}) == []
        assert len(pack.blocking(self.policy, "aws:sqs/queue:Queue", {"policy": pack.doc(to_own)})) == 1

    @pytest.mark.parametrize("props,blocked", [
        ({"principal": "*", "action": "lambda:InvokeFunction"}, True),
        ({"principal": "*", "action": "lambda:InvokeFunctionUrl", "functionUrlAuthType": "AWS_IAM"}, True),
        ({"principal": "*", "sourceArn": "arn:aws:s3:::any-bucket-*"}, True),
        ({"principal": "*", "sourceAccount": "123456789012"}, False),
        ({"principal": "*", "sourceArn": "arn:aws:execute-api:us-east-1:123456789012:api/*"}, False),
        ({"principal": "*", "principalOrgId": "o-abcdefghij"}, False),
        ({"principal": "s3.amazonaws.com", "sourceArn": "arn:aws:s3:::b"}, False),
        ({"principal": UNKNOWN}, True),
        ({"principal": "*", "sourceAccount": UNKNOWN}, True),
    ])
    def test_lambda_permissions(self, pack, props: dict, blocked: bool) -> None:
        found = pack.blocking(self.policy, "aws:lambda/permission:Permission", {"function": "f", **props})
        assert bool(found) is blocked

    def test_function_urls_and_layers(self, pack) -> None:
        url = "aws:lambda/functionUrl:FunctionUrl"
        assert len(pack.blocking(self.policy, url, {"functionName": "f", "authorizationType": "NONE"})) == 1
        assert pack.blocking(self.policy, url, {"functionName": "f", "authorizationType": "AWS_IAM"}) == []
        layer = "aws:lambda/layerVersionPermission:LayerVersionPermission"
        assert len(pack.blocking(self.policy, layer, {"principal": "*", "action": "lambda:GetLayerVersion"})) == 1
        assert pack.blocking(self.policy, layer, {"principal": "*", "organizationId": "o-abcdefghij"}) == []


class TestBucketAcls:
    policy = "s3-bucket-policy-no-public-principal"

    @pytest.mark.parametrize("props", [
        {"bucket": "b", "acl": "public-read"},
        {"bucket": "b", "acl": "authenticated-read"},
        {"bucket": "b", "accessControlPolicy": {"owner": {"id": "o"}, "grants": [
            {"permission": "READ",
             "grantee": {"type": "Group", "uri": "http://acs.amazonaws.com/groups/global/AllUsers"}}]}},
    ])
    def test_public_acls_are_blocked(self, pack, props: dict) -> None:
        assert len(pack.blocking(self.policy, "aws:s3/bucketAcl:BucketAcl", props)) == 1

    def test_grants_in_any_input_are_found(self, pack) -> None:
        grants = [{"permissions": ["READ"], "type": "Group",
                   "uri": "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"}]
        assert len(pack.blocking(self.policy, "aws:s3/bucketV2:BucketV2", {"bucket": "b", "grants": grants})) == 1

    def test_private_acl_passes(self, pack) -> None:
        assert pack.blocking(self.policy, "aws:s3/bucketAcl:BucketAcl", {"bucket": "b", "acl": "private"}) == []
