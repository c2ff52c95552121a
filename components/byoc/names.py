"""Names and tags the BYOC components share.

Key and bucket policies name the IAM roles, and the IAM policies name the buckets and log groups, so every component
derives those names here, from the config and the account, rather than from each other's resources.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.account import AwsAccount
from stack_config.byoc import ByocConfig

# ClickHouse discovers the VPC and subnets by this tag, and its management role may change only what carries it; the
# internal-elb tag lets the AWS Load Balancer Controller place the internal NLB in the private subnets.
BYOC_TAG = "clickhouse-byoc"
BYOC_TAGS = {BYOC_TAG: "true"}
BYOC_SUBNET_TAGS = {"kubernetes.io/role/internal-elb": "1", **BYOC_TAGS}


@dataclass(frozen=True)
class ByocNames:
    """Every name and ARN more than one BYOC component needs."""

    config: ByocConfig
    account: AwsAccount
    name_prefix: str

    def bucket(self, suffix: str) -> str:
        return self.config.bucket_name(self.account.account_id, self.account.region, suffix)

    def bucket_arn(self, suffix: str) -> str:
        return f"arn:{self.account.partition}:s3:::{self.bucket(suffix)}"

    @property
    def log_groups(self) -> dict[str, str]:
        """Log group names by their key in the ``byoc`` output.

        The EKS group is where EKS writes the control plane logs of the cluster ClickHouse creates, so it exists only
        when the cluster's name was agreed with ClickHouse: a guessed name would either be unused or collide with the
        group ClickHouse's automation creates for its cluster.
        """
        groups = {"query": "/aws/clickhouse/query-logs", "error": "/aws/clickhouse/error-logs"}
        if self.config.eks_cluster_name:
            groups["eks_cluster"] = f"/aws/eks/{self.config.eks_cluster_name}/cluster"
        return groups

    def log_group_arn(self, key: str) -> str:
        return self.account.arn("logs", f"log-group:{self.log_groups[key]}")

    def role_arn(self, role_name: str) -> str:
        return f"arn:{self.account.partition}:iam::{self.account.account_id}:role/{role_name}"

    @property
    def pod_role_arn(self) -> str:
        return self.role_arn(self.config.pod_role_name)

    @property
    def eks_cluster_arn(self) -> str | None:
        """The agreed cluster's ARN, or None when no cluster name was agreed."""
        name = self.config.eks_cluster_name
        return self.account.arn("eks", f"cluster/{name}") if name else None
