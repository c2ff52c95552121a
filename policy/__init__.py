"""The policy pack's directory (``pulumi ... --policy-pack policy``); the policies are the ``clickhouse_aws_policy``
package inside it, which the CLI imports by that name and the repository's tools as ``policy.clickhouse_aws_policy``."""
