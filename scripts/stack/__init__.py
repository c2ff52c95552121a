"""Drive this Pulumi program from scripts and pipelines through the Automation API: ``python -m scripts.stack``.

Commands: preview, up, refresh, destroy, outputs, handoff, audit (read-only live audit), plan (where a stack stands in
the apply order) and bootstrap (run the apply order). preview and up always run the policy pack with the stack's
policy config. Exit codes are listed in docs/automation.md and in ``scripts.stack.errors.ExitCode``.

``cli`` parses arguments, ``settings`` decides backend, secrets provider and confirmations without touching the CLI,
``runner`` runs one command through the ``StackFactory`` seam, ``errors`` maps failures to exit codes, ``outputs``
and ``phases`` shape what the commands print.
"""
