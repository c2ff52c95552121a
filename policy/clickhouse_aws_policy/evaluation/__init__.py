"""The evaluators every policy shares: IAM policy documents (``iam_documents``), address coverage (``addresses``)
and wildcard patterns (``patterns``). They work on plain values (``values.plain``), never on the SDK's proxies or
arguments, so they have unit and property tests of their own without a running pack.
"""
