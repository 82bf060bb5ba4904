"""``python -m filterkit`` runs the ``filterkit`` command line."""

import sys

from filterkit.cli import main

sys.exit(main())
