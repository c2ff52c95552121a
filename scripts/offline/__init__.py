"""The program and its policy pack without a cloud or a Pulumi CLI: the mock engine, the fake providers' answers and
the analyzer client that talks to the pack as the CLI does."""
