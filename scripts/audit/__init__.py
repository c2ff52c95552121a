"""Live conformance audit of a stack's AWS resources (read-only).

The policy pack judges what a preview declares; this audit reads the live account, so drift, console edits and
resources made outside Pulumi show up. Findings reuse the pack's policy names where a live check matches one.

From the command line: ``python -m scripts.audit`` (``cli``). In code: ``run_audit(outputs_dict, session)`` returns an
``AuditReport`` or raises ``AuditError``. Inside: ``model`` parses the outputs, ``aws`` is the read-only client,
``checks`` holds one function per line of the report and ``run`` ties them together.
"""

from scripts.audit.model import AuditError
from scripts.audit.run import AuditReport, run_audit

__all__ = ["AuditError", "AuditReport", "run_audit"]
