"""CLI subcommands of the filterkit core (see :mod:`filterkit.cli`)."""
