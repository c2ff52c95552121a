"""What a platform team watches a stack by: the alarm topic, the alarms, the dashboard and the opt-in ClickHouse Cloud
metrics agent, one module per concern."""
