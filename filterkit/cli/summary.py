"""``filterkit summary``: layer table (shapes, parameters, multiply-adds) of a zoo model."""

from __future__ import annotations

import argparse
import os
import sys

from filterkit.cli.common import add_force_option, add_json_option, add_seed_option, int_range
from filterkit.errors import UserError
from filterkit.io import refuse_overwrite, write_report

HELP = "layer-by-layer table of a zoo model: output shapes, parameters, multiply-adds"
DESCRIPTION = """\
Print a layer-by-layer table of a zoo model for one input sample: output
shape, kernel, parameters, trainable parameters, multiply-adds (MACs) and the
output-size arithmetic O = (I - K + 2P)/S + 1 of every conv and pooling layer.

MACs are counted as weights x output positions, per sample; --bias-macs (the
default) adds one per output value for each bias, --no-bias-macs leaves them
out (the figure most papers quote).  The model is built on PyTorch's "meta"
device and traced with a batch of zero samples: no weights are initialised
and nothing is computed, so even VGG-16 takes milliseconds.

examples:
  filterkit summary --list
  filterkit summary lecture_cnn
  filterkit summary alexnet_grouped --input 3,227,227 --no-bias-macs
  filterkit summary googlenet --depth 1 --set aux_logits=true --train
  filterkit summary resnet50 --json out/resnet50.json
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", nargs="?", metavar="MODEL",
                        help="zoo model name (see --list)")
    parser.add_argument("--list", action="store_true", help="list the zoo models with their default inputs and exit")
    parser.add_argument("--input", metavar="C,H,W", default=None,
                        help="shape of one input sample (default: the model's own, e.g. 1,28,28 for lecture_cnn); "
                             "a channel count other than the default builds the model with that many input channels")
    parser.add_argument("--num-classes", type=int_range(1, 1_000_000), default=None, metavar="N",
                        help="number of output classes (default: the model's own)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="options",
                        help="extra builder option, repeatable, e.g. --set aux_logits=true or --set variant=modern")
    parser.add_argument("--bias-macs", action=argparse.BooleanOptionalAction, default=True,
                        help="count one multiply-add per output value for each bias (default: yes)")
    parser.add_argument("--depth", type=int_range(1, 100), default=None, metavar="N",
                        help="show modules down to nesting level N, blocks at level N as one row "
                             "(default: every leaf layer)")
    parser.add_argument("--train", action="store_true",
                        help="trace the training-mode forward (e.g. GoogLeNet's auxiliary heads); default: eval mode")
    parser.add_argument("--trace", choices=("empty", "meta", "real"), default="empty",
                        help="how shapes are traced, all giving the same figures: empty (default): a batch of zero "
                             "samples, no arithmetic; meta: one sample on the meta device (slower first call); "
                             "real: the model built on the CPU and one zero sample run through it (slow for "
                             "large models)")
    add_json_option(parser)
    add_force_option(parser, "--json file")
    add_seed_option(parser)


MAX_SIDE = 65536  # largest --input dimension


def parse_shape(text: str) -> tuple[int, ...]:
    """``"3,224,224"`` (or ``"3x224x224"``) -> (3, 224, 224); :class:`UserError` when malformed."""
    parts = text.replace("x", ",").split(",")
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        shape = ()
    if not shape or any(s <= 0 or s > MAX_SIDE for s in shape):
        raise UserError(f"--input: expected positive integers up to {MAX_SIDE} like 3,224,224, got {text!r}")
    return shape


def parse_options(items: list[str]) -> dict[str, object]:
    """``["aux_logits=true", "dropout=0.3"]`` -> {"aux_logits": True, "dropout": 0.3}."""
    options: dict[str, object] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise UserError(f"--set: expected KEY=VALUE, got {item!r}")
        options[key.strip()] = _parse_value(raw.strip())
    return options


def _parse_value(raw: str) -> object:
    lowered = raw.lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            pass
    return raw


def _list_models() -> str:
    from filterkit.nn.zoo import model_names, model_spec

    lines = []
    for name in model_names():
        spec = model_spec(name)
        lines.append(f"{name:<16} {'x'.join(map(str, spec.input_shape)):<10} {spec.description}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.list:
        print(_list_models())
        return 0
    import torch

    from filterkit.nn.summary import summarize
    from filterkit.nn.zoo import build_model, default_input, model_names

    if args.model is None:
        raise UserError(f"give a MODEL name (or --list); models: {', '.join(model_names())}")
    if args.model not in model_names() and os.path.exists(args.model):
        raise UserError(f"{args.model}: summarising checkpoint files is not supported yet; give a zoo model name "
                        f"({', '.join(model_names())})")
    refuse_overwrite(args.json, args.force)
    torch.manual_seed(args.seed)

    shape_default = default_input(args.model)  # raises UserError listing the names for an unknown model
    shape = parse_shape(args.input) if args.input else shape_default
    options = parse_options(args.options)
    if args.num_classes is not None:
        options["num_classes"] = args.num_classes
    if shape[0] != shape_default[0] and "in_channels" not in options:
        options["in_channels"] = shape[0]
    try:
        with torch.device("cpu" if args.trace == "real" else "meta"):
            model = build_model(args.model, **options)
    except (TypeError, ValueError) as exc:
        raise UserError(f"model {args.model!r}: bad option: {exc}") from None
    try:
        summary = summarize(model, shape, bias_macs=args.bias_macs, depth=args.depth, train=args.train,
                            trace=args.trace, name=args.model)
    except RuntimeError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"model {args.model!r} cannot take an input of shape "
                        f"{','.join(map(str, shape))}: {reason}") from None
    print(summary.table(), file=sys.stderr if args.json == "-" else sys.stdout)
    if args.json:
        write_report(args.json, summary.to_dict(), force=args.force)
        if args.json != "-":
            print(f"wrote {args.json}", file=sys.stderr)
    return 0
