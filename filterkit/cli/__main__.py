"""``python -m filterkit.cli`` (as torchrun runs it) is the ``filterkit`` command line."""

import sys

from filterkit.cli.main import main

sys.exit(main())
