import sys

from scripts.audit.cli import main

sys.exit(main())
