"""CrossGuard policies for the clickhouse-aws project, one module per concern.

``POLICIES`` lists every policy in report order; ``__main__.py`` only wraps it in a ``PolicyPack``.
"""

from . import encryption, iam, network_exposure, region, secrets

PACK_NAME = "clickhouse-aws-policy"

POLICIES = [
    *network_exposure.POLICIES,
    *region.POLICIES,
    *encryption.POLICIES,
    *iam.POLICIES,
    *secrets.POLICIES,
]
