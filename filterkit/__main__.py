"""``python -m filterkit`` runs the ``filterkit`` command line."""

import sys

from .cli import main

sys.exit(main())
