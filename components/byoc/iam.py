"""IAM for ClickHouse BYOC: the EKS node role and the pod role of the ClickHouse pods.

ClickHouse's own bootstrap role is not written here: it comes unchanged from ClickHouse's template (``bootstrap``).
The pod role trusts what the cluster uses (byocPodAccess): EKS Pod Identity, as ClickHouse's clusters do, from the
start; or IRSA, once the EKS OIDC issuer is known. It may use the backups bucket's objects and write to the ClickHouse
log groups, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

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
    # None until the role can exist (IRSA without the cluster's issuer yet).
    pod_role_arn: Optional[pulumi.Output[str]]

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

        self.pod_role_arn = None
        if cfg.pod_role_ready:
            self.pod_role_arn = self._pod_role(name).arn
        else:
            pulumi.log.info(
                "BYOC: no IRSA role for the ClickHouse pods yet. Once ClickHouse has created EKS, set "
                "clickhouse-aws:byocOidcIssuerUrl to the cluster's OIDC issuer URL and run up again.",
                resource=self,
            )
        self.register_outputs({
            "node_role_arn": self.node_role_arn,
            "pod_role_arn": self.pod_role_arn,
        })

    def _role(self, resource_name: str, role_name: str, description: str, trust: pulumi.Input[str],
              opts: pulumi.ResourceOptions | None = None) -> aws.iam.Role:
        # None of these roles carries the clickhouse-byoc tag: ClickHouse's automation may change tagged roles.
        return aws.iam.Role(resource_name, name=role_name, description=description, assume_role_policy=trust,
                            tags=self._tags, opts=pulumi.ResourceOptions.merge(self._child, opts))

    def _pod_identity_trust(self) -> dict[str, Any]:
        """EKS Pod Identity's trust (Amazon EKS User Guide, "Create IAM role with trust policy required by EKS Pod
        Identity"). With the cluster agreed, only its associations: Pod Identity tags each session with the cluster's
        ARN, the condition key that guide documents for restricting clusters."""
        statement: dict[str, Any] = {
            "Effect": "Allow",
            "Principal": {"Service": self._account.service_principal("pods.eks")},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
        }
        if self._names.eks_cluster_arn:
            statement["Condition"] = {"StringEquals": {"aws:RequestTag/eks-cluster-arn": self._names.eks_cluster_arn}}
        return statement

    def _irsa_trust(self) -> dict[str, Any]:
        """IRSA's trust: the cluster's OIDC provider, for one service account (Amazon EKS User Guide, "IAM roles for
        service accounts")."""
        cfg = self._names.config
        issuer = cfg.oidc_issuer_url.removeprefix("https://")
        return {
            "Effect": "Allow",
            "Principal": {"Federated": self._account.arn("iam", f"oidc-provider/{issuer}", regional=False)},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                f"{issuer}:sub": f"system:serviceaccount:{cfg.namespace}:{cfg.service_account}",
                f"{issuer}:aud": "sts.amazonaws.com",
            }},
        }

    def _pod_role(self, name: str) -> aws.iam.Role:
        names, cfg = self._names, self._names.config
        pod_identity = cfg.pod_access == "pod-identity"
        trust = policy_document(self._pod_identity_trust() if pod_identity else self._irsa_trust())
        pods = "EKS Pod Identity" if pod_identity else f"IRSA, {cfg.namespace}/{cfg.service_account}"
        # Named "irsa" when IRSA was the only mode; the aliases keep the URNs of roles created then.
        was = pulumi.ResourceOptions(aliases=[pulumi.Alias(name=f"{name}-irsa")])
        role = self._role(f"{name}-pods", cfg.pod_role_name, f"ClickHouse pods ({pods}): backups and logs", trust, was)
        backups = names.bucket_arn("backups")
        log_groups = [names.log_group_arn(key) for key in ("query", "error")]
        aws.iam.RolePolicy(
            f"{name}-pods",
            role=role.id,
            policy=policy_document(
                allow("ListBackups", ["s3:ListBucket", "s3:GetBucketLocation"], backups),
                allow("ReadWriteBackups", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject",
                                            "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                       f"{backups}/*"),
                allow("WriteClickHouseLogs", ["logs:CreateLogStream", "logs:PutLogEvents"],
                       log_groups + [f"{arn}:log-stream:*" for arn in log_groups]),
            ),
            opts=pulumi.ResourceOptions.merge(self._child, was),
        )
        return role
