"""The evaluators every policy shares: IAM policy documents (``iam_documents``), address coverage (``addresses``)
and wildcard patterns (``patterns``). They know nothing of pulumi-policy and have unit and property tests of their own.
"""
