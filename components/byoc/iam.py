"""IAM for ClickHouse BYOC: the EKS node role and the IRSA role of the pods.

ClickHouse's own bootstrap role is not written here: it comes unchanged from ClickHouse's template (``bootstrap``).
The IRSA role exists only once the EKS OIDC issuer is known; it may use the backups bucket's objects and write to the
ClickHouse log groups, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

import pulumi
import pulumi_aws as aws

from components.account import allow, policy_document
from components.byoc.names import ByocNames

NODE_MANAGED_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly")


@dataclass(frozen=True)
class ByocIamArgs:
    names: ByocNames
    tags: Mapping[str, str]


class ByocIam(pulumi.ComponentResource):
    node_role_arn: pulumi.Output[str]
    irsa_role_arn: Optional[pulumi.Output[str]]

    def __init__(self, name: str, args: ByocIamArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("clickhouse-aws:byoc:Iam", name, None, opts)
        self._child = pulumi.ResourceOptions(parent=self)
        self._names, self._account, cfg = args.names, args.names.account, args.names.config
        self._tags = dict(args.tags)

        node = self._role(f"{name}-eks-node", cfg.node_role_name, "EKS worker nodes of ClickHouse BYOC",
                          policy_document({"Effect": "Allow", "Action": "sts:AssumeRole",
                                           "Principal": {"Service": self._account.service_principal("ec2")}}))
        for policy in NODE_MANAGED_POLICIES:
            aws.iam.RolePolicyAttachment(
                f"{name}-eks-node-{policy}",
                role=node.name,
                policy_arn=self._account.managed_policy_arn(policy),
                opts=self._child,
            )
        self.node_role_arn = node.arn

        self.irsa_role_arn = None
        if cfg.oidc_issuer_url:
            self.irsa_role_arn = self._irsa_role(f"{name}-irsa").arn
        else:
            pulumi.log.info(
                "BYOC: no IRSA role for the ClickHouse pods yet. Once ClickHouse has created EKS, set "
                "clickhouse-aws:byocOidcIssuerUrl to the cluster's OIDC issuer URL and run up again.",
                resource=self,
            )
        self.register_outputs({
            "node_role_arn": self.node_role_arn,
            "irsa_role_arn": self.irsa_role_arn,
        })

    def _role(self, resource_name: str, role_name: str, description: str, trust: pulumi.Input[str]) -> aws.iam.Role:
        # None of these roles carries the clickhouse-byoc tag: ClickHouse's automation may change tagged roles.
        return aws.iam.Role(resource_name, name=role_name, description=description, assume_role_policy=trust,
                            tags=self._tags, opts=self._child)

    def _irsa_role(self, name: str) -> aws.iam.Role:
        names, cfg = self._names, self._names.config
        issuer = cfg.oidc_issuer_url.removeprefix("https://")
        trust = policy_document({
            "Effect": "Allow",
            "Principal": {"Federated": self._account.arn("iam", f"oidc-provider/{issuer}", regional=False)},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                f"{issuer}:sub": f"system:serviceaccount:{cfg.namespace}:{cfg.service_account}",
                f"{issuer}:aud": "sts.amazonaws.com",
            }},
        })
        role = self._role(name, cfg.irsa_role_name,
                          f"ClickHouse pods ({cfg.namespace}/{cfg.service_account}): backups and logs", trust)
        backups = names.bucket_arn("backups")
        log_groups = [names.log_group_arn(key) for key in ("query", "error")]
        aws.iam.RolePolicy(
            name,
            role=role.id,
            policy=policy_document(
                allow("ListBackups", ["s3:ListBucket", "s3:GetBucketLocation"], backups),
                allow("ReadWriteBackups", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject",
                                            "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                       f"{backups}/*"),
                allow("WriteClickHouseLogs", ["logs:CreateLogStream", "logs:PutLogEvents"],
                       log_groups + [f"{arn}:log-stream:*" for arn in log_groups]),
            ),
            opts=self._child,
        )
        return role
