"""The ClickHouse Cloud provider double (pulumiverse-clickhouse 2.x, a Terraform-framework provider)."""

from e2e.doubles.provider import Package

PACKAGE = Package(
    name="clickhouse",
    sdk_distribution="pulumiverse_clickhouse",
    force_new={
        "clickhouse:index/service:Service": frozenset({"cloudProvider", "region"}),
        "clickhouse:ServicePrivateEndpoints/attachment:Attachment": frozenset({"serviceId"}),
    },
    # pulumiverse_clickhouse/service.py: additional_secret_outputs.
    secret_outputs={"clickhouse:index/service:Service":
                    frozenset({"doubleSha1PasswordHash", "password", "passwordHash", "passwordWo"})},
    # The provider refuses to start without an organization and an API key pair, from config or environment.
    required_config={"organizationId": "CLICKHOUSE_ORG_ID", "tokenKey": "CLICKHOUSE_TOKEN_KEY",
                     "tokenSecret": "CLICKHOUSE_TOKEN_SECRET"},
)
