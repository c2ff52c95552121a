"""Provider doubles for the e2e suite: plugins the Pulumi CLI runs in place of the real aws, clickhouse and random."""
