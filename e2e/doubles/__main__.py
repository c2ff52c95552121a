"""``python -m e2e.doubles <package> [engine-address] [flags]``: serve one provider double (see provider.py).

The CLI passes its engine address and logging flags as it does to every plugin; a double needs neither.
"""

import sys

from e2e.doubles import aws, clickhouse, rand
from e2e.doubles.provider import serve

PACKAGES = {p.PACKAGE.name: p.PACKAGE for p in (aws, clickhouse, rand)}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in PACKAGES:
        sys.exit(f"usage: python -m e2e.doubles {{{','.join(PACKAGES)}}} [engine-address]")
    serve(PACKAGES[sys.argv[1]])
