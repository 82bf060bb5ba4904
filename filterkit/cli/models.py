"""``filterkit models``: the pretrained models that ship inside the package (:mod:`filterkit.models`)."""

from __future__ import annotations

import argparse

from filterkit import models
from filterkit.cli.common import add_force_option, add_json_option
from filterkit.io import refuse_overwrite, write_report

HELP = "list the pretrained models that ship with filterkit (use them with --model NAME)"

DESCRIPTION = """\
List the pretrained models bundled with filterkit: name, app, task, headline
figure (with the split it was measured on) and file size.  Every command that
uses a model takes --model NAME|PATH and defaults to its app's first model.

--json writes the whole catalogue: for each model its data set with licence and
attribution, all its figures, size, SHA-256 and the command that rebuilds it.

examples:
  filterkit models
  filterkit models --json - | python -m json.tool
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_json_option(parser)
    add_force_option(parser, "--json file")


def headline(metrics: dict) -> str:
    """The headline figure of ``metrics`` and its split, e.g. ``"accuracy 99.2 % (test)"``."""
    key = metrics.get("headline")
    if key not in metrics:
        key = next((k for k, v in metrics.items() if k not in ("split", "headline")
                    and isinstance(v, (int, float)) and not isinstance(v, bool)), None)
    if key is None:
        return "-"
    value = metrics[key]
    split = metrics.get(f"{key}_split", metrics.get("split"))
    if isinstance(value, float) and 0.0 <= value <= 1.0 and any(w in key for w in ("acc", "top", "f1", "loso")):
        text = f"{key} {100 * value:.1f} %"
    elif isinstance(value, float):
        text = f"{key} {value:.4g}"
    else:
        text = f"{key} {value}"
    return f"{text} ({split})" if split else text


def _size(n) -> str:
    if not isinstance(n, int):
        return "?"
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def _table(entries: list[dict]) -> str:
    rows = [("name", "app", "size", "task")]
    rows += [(str(e.get("name")), str(e.get("app")), _size(e.get("bytes")), str(e.get("task"))) for e in entries]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for k, r in enumerate(rows):
        lines.append("  ".join(c.rjust(w) if i == 2 else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip())
        if k:  # the figure, with what it was measured on, under its model
            lines.append(" " * (widths[0] + 2) + headline(entries[k - 1].get("metrics") or {}))
    total = sum(e.get("bytes") or 0 for e in entries)
    lines.append(f"{len(entries)} model{'s' * (len(entries) != 1)}, {_size(total)}; data licences and rebuild "
                 "commands: filterkit models --json -")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    refuse_overwrite(args.json, args.force)
    entries = models.catalogue()
    if args.json != "-":  # with --json -, the JSON is the output
        print(_table(entries) if entries else "no models are bundled with this filterkit")
    if args.json:
        write_report(args.json, {"command": "models", "models": entries}, force=args.force)
    return 0


__all__ = ["add_arguments", "run", "headline", "HELP", "DESCRIPTION"]
