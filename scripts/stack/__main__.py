import sys

from scripts.stack.cli import main

sys.exit(main())
