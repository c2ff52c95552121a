"""Connectivity check from inside the VPC (or a peered network) to a stack's ClickHouse service.

``python -m scripts.verify --outputs outputs.json [--json] [--ca-file ca.pem]`` checks that the service's hostname
resolves to the PrivateLink endpoint's private addresses in the VPC (and, for BYOC, ``clickhouse.<domain>`` to the
internal NLB's), that TLS on 8443 and 9440 presents a valid certificate for the hostname, and that ``SELECT 1`` over
HTTPS succeeds with the password from Secrets Manager, which is never shown. Exit codes are the live audit's: 0 every
check passed, 1 a check failed, 2 the run could not start. In code: ``run_verify(outputs_dict)`` returns a ``Report``
or raises ``VerifyError``. Modules: outputs (reading the file), aws (the reads), network (resolution and routing),
dns, tls, credentials, query, ports (the checks), report (results and exit codes), runner (one run).
"""
