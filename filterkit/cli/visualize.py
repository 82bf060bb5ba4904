"""``filterkit visualize``: what did the CNN learn? Kernels, feature maps, maximisation, saliency, dream, style."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from filterkit.cli.common import (
    HelpFormatter,
    add_device_option,
    add_force_option,
    add_json_option,
    add_quiet_option,
    add_seed_option,
    float_range,
    int_range,
    show_progress,
)
from filterkit.errors import UserError
from filterkit.visualize.config import DEFAULT_LEVELS, DreamConfig, MaximizeConfig, StyleConfig

HELP = "see what a CNN learned: kernels, feature maps, activation maximisation, saliency, Deep Dream, style"
DESCRIPTION = """\
Pictures of what a trained CNN learned.  Every subcommand writes a PNG (-o)
and, with --json, the figures behind it (start and final objective, target
probability, sparsity, seed); --npy saves the raw float array.  Results are
deterministic given --seed.  No file is overwritten without --force.

--model is a filterkit checkpoint (its config names the zoo model; train one
with 'filterkit visualize train') or a zoo model NAME (also zoo:NAME) with
random weights.  Layers are module paths (conv1, features.0, layer1.0.conv2)
or 'output'; --list-layers prints them.  IMAGE is an image file or
skimage:NAME (a scikit-image sample: camera, brick, gravel, grass, ...).

examples:
  filterkit visualize train --data ../shared/data/mnist --epochs 2 -o mnist_cnn
  filterkit visualize kernels --model mnist_cnn/best.pt --layer conv1 --compare -o kernels.png
  filterkit visualize maximize --model mnist_cnn/best.pt --class all -o digits.png --json digits.json
  filterkit visualize maximize --model mnist_cnn/best.pt --layer conv2 --channel 7 -o conv2_7.png
  filterkit visualize saliency --model mnist_cnn/best.pt digit.png -o saliency.png
  filterkit visualize dream --model mnist_cnn/best.pt skimage:camera --layer conv2 --size 192 -o dream.png
  filterkit visualize style noise skimage:brick --size 128 -o texture.png
  filterkit visualize style skimage:camera skimage:gravel --size 128 -o style.png
"""

MODEL_HELP = ("bundled model name (see 'filterkit models'; default: the bundled MNIST CNN), a filterkit checkpoint "
              "or run folder, or a zoo model NAME (or zoo:NAME) with random weights from --seed")
IMAGE_HELP = "image file, or skimage:NAME (camera, brick, gravel, grass, ...)"
MAX_SIDE = 4096  # largest image side (pixels)
ZOO_PREFIX = "zoo:"


def _positive(hi: float | None = None):
    return float_range(0, hi, lo_open=True)


def _common(p: argparse.ArgumentParser, model: bool = True) -> None:
    p.add_argument("-o", "--out", metavar="OUT.png", required=False,
                   help="output PNG (required unless --list-layers)")
    add_json_option(p)
    p.add_argument("--npy", metavar="PATH", default=None, help="also save the raw float array (.npy)")
    add_seed_option(p)
    add_device_option(p)
    add_force_option(p, "output files (-o, --json, --npy)")
    add_quiet_option(p)
    if model:
        p.add_argument("--model", metavar="NAME|PATH", default=None, help=MODEL_HELP)
        p.add_argument("--arch", metavar="NAME", default=None,
                       help="zoo model the checkpoint holds (default: the checkpoint's config['model'])")
        p.add_argument("--list-layers", action="store_true", help="print the model's layer names and exit")


def _image_options(p: argparse.ArgumentParser, size_help: str | None = None) -> None:
    p.add_argument("image", metavar="IMAGE", nargs="?", help=IMAGE_HELP)
    p.add_argument("--invert", action="store_true",
                   help="use 1 - image (dark ink on white paper -> white on black like MNIST)")
    if size_help:
        p.add_argument("--size", type=int_range(8, MAX_SIDE), default=None, help=f"{size_help}, 8 to {MAX_SIDE}")


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="train the lecture CNN on digits and save a checkpoint to visualise",
                       formatter_class=HelpFormatter)
    p.add_argument("--data", metavar="DIR|builtin", default=None,
                   help="MNIST folder or 'builtin' (default: $FILTERKIT_DATA, else ../shared/data/mnist)")
    p.add_argument("--epochs", type=int_range(1, 1000), default=2, help="training epochs")
    p.add_argument("-o", "--out", metavar="DIR", required=True,
                   help="run folder to write: best.pt, last.pt, metrics.csv, report.json")
    add_json_option(p)
    add_seed_option(p)
    add_device_option(p)
    add_force_option(p, "run folder and --json file")
    add_quiet_option(p)


def _add_kernels(sub) -> None:
    p = sub.add_parser("kernels", help="grid of a conv layer's kernels with their nearest fixed kernels",
                       formatter_class=HelpFormatter)
    p.add_argument("--layer", default=None, help="conv layer (default: the first Conv2d)")
    p.add_argument("--compare", action="store_true", help="draw each kernel beside its nearest fixed kernel")
    p.add_argument("--max", type=int_range(1, 10000), default=100, help="draw at most this many kernels")
    _common(p)


def _add_features(sub) -> None:
    p = sub.add_parser("features", help="feature maps of a layer for an input image", formatter_class=HelpFormatter)
    _image_options(p, "resize the image's shorter side (default: the model's input)")
    p.add_argument("--layer", default=None, help="layer (default: the first Conv2d)")
    p.add_argument("--max", type=int_range(1, 10000), default=64, help="draw at most this many maps")
    _common(p)


def _add_maximize(sub) -> None:
    d = MaximizeConfig()
    p = sub.add_parser("maximize", help="the input that maximises a filter, a unit or a class (gradient ascent)",
                       formatter_class=HelpFormatter)
    what = p.add_mutually_exclusive_group()
    what.add_argument("--channel", metavar="K",
                      help="channel(s) of --layer: K, K1,K2 or all (output summed over positions)")
    what.add_argument("--neuron", metavar="J", help="unit(s) of --layer's flattened output: J, J1,J2 or all")
    what.add_argument("--class", dest="klass", metavar="C", help="class(es) of the output: C, C1,C2 or all")
    p.add_argument("--layer", default=None, help="layer for --channel/--neuron")
    p.add_argument("--steps", type=int_range(1, 100000), default=d.steps, help="Adam steps")
    p.add_argument("--lr", type=_positive(), default=d.lr, help="Adam learning rate (pixels)")
    p.add_argument("--l1", type=float_range(0), default=d.l1, help="sparsity prior: weight of sum(pixels) (0 = off)")
    p.add_argument("--l1-warmup", type=float_range(0, 1), default=d.l1_warmup,
                   help="fraction of steps over which l1 ramps up")
    p.add_argument("--tv", type=float_range(0), default=d.tv, help="total-variation weight")
    p.add_argument("--blur-sigma", type=float_range(0, 100), default=d.blur_sigma,
                   help="Gaussian blur sigma (px), 0 = off")
    p.add_argument("--blur-every", type=int_range(1), default=d.blur_every, help="blur every N steps")
    p.add_argument("--jitter", type=float_range(0, 1), default=d.jitter,
                   help="max random shift, fraction of the image side")
    p.add_argument("--scale", type=float_range(0, 1, hi_open=True), default=d.scale, help="random scaling 1 +- this")
    p.add_argument("--rotate", type=float_range(0, 180), default=d.rotate, help="random rotation +- degrees")
    p.add_argument("--param", choices=("pixel", "fourier"), default=d.param, help="image parameterisation")
    p.add_argument("--decay", type=float_range(0, 10), default=d.decay, help="fourier: spectrum weight 1/f^decay")
    p.add_argument("--init-scale", type=float_range(0), default=d.init_scale, help="starting noise amplitude")
    p.add_argument("--objective", choices=("logit", "logprob"), default=d.objective, help="class score to raise")
    p.add_argument("--size", type=int_range(8, MAX_SIDE), default=None,
                   help=f"image side, 8 to {MAX_SIDE} (default: the model's input)")
    _common(p)


def _add_saliency(sub) -> None:
    p = sub.add_parser("saliency", help="gradient, SmoothGrad and integrated-gradients maps",
                       formatter_class=HelpFormatter)
    _image_options(p)
    p.add_argument("--target", type=int_range(0), default=None, help="class to explain (default: the predicted class)")
    p.add_argument("--samples", type=int_range(1, 10000), default=32, help="SmoothGrad noisy samples")
    p.add_argument("--noise", type=float_range(0, 10), default=0.15,
                   help="SmoothGrad noise std, fraction of the image range")
    p.add_argument("--steps", type=int_range(1, 100000), default=64, help="integrated-gradients steps")
    p.add_argument("--baseline", default="black", help="integrated-gradients baseline: black, blur or an image file")
    _common(p)


def _add_dream(sub) -> None:
    d = DreamConfig()
    p = sub.add_parser("dream", help="Deep Dream: amplify what a layer sees (multi-scale octaves)",
                       formatter_class=HelpFormatter)
    _image_options(p, "resize the image's shorter side first")
    p.add_argument("--layer", default=None, help="layer to amplify (required unless --list-layers)")
    p.add_argument("--octaves", type=int_range(1, 20), default=d.octaves, help="number of scales")
    p.add_argument("--octave-scale", type=float_range(1, 10, lo_open=True), default=d.octave_scale,
                   help="size ratio between octaves")
    p.add_argument("--steps", type=int_range(1, 100000), default=d.steps, help="steps per octave")
    p.add_argument("--lr", type=_positive(), default=d.lr, help="step size (pixels, gradient normalised)")
    _common(p)


def _add_style(sub) -> None:
    d = StyleConfig()
    p = sub.add_parser("style", help="neural style transfer / texture synthesis (Gram matrices)",
                       formatter_class=HelpFormatter)
    p.add_argument("content", metavar="CONTENT", help="content image, or 'noise' for texture synthesis")
    p.add_argument("style", metavar="STYLE", help="style / texture image")
    p.add_argument("--size", type=int_range(16, MAX_SIDE), default=128,
                   help=f"shorter side of the images (px), 16 to {MAX_SIDE}")
    p.add_argument("--steps", type=int_range(1, 100000), default=d.steps,
                   help="loss evaluations (lbfgs) or steps (adam)")
    p.add_argument("--optimizer", choices=("lbfgs", "adam"), default=d.optimizer, help="optimiser")
    p.add_argument("--lr", type=_positive(), default=d.lr, help="Adam learning rate")
    p.add_argument("--style-weight", type=float_range(0), default=d.style_weight, help="style loss weight")
    p.add_argument("--content-weight", type=float_range(0), default=d.content_weight, help="content loss weight")
    p.add_argument("--model", metavar="NAME|PATH", default=None,
                   help="take the features from this model's --layers (" + MODEL_HELP + ") instead of random filters")
    p.add_argument("--layers", default=None, help="comma-separated layers of --model")
    p.add_argument("--arch", metavar="NAME", default=None, help="zoo model the --model checkpoint holds")
    p.add_argument("--filters", type=int_range(1, 1024), default=64, help="random filters per size and level")
    p.add_argument("--levels", type=int_range(1, 10), default=DEFAULT_LEVELS,
                   help="pyramid levels of the random filters")
    p.add_argument("--colour", action="store_true", help="work in RGB (default: greyscale)")
    _common(p, model=False)


_ADDERS = (_add_train, _add_kernels, _add_features, _add_maximize, _add_saliency, _add_dream, _add_style)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="technique", metavar="TECHNIQUE")
    sub.required = True
    for add in _ADDERS:
        add(sub)


# --------------------------------------------------------------------------- helpers


def _say(args, text: str) -> None:
    """Print a result line: to stdout, or to stderr when ``--json -`` takes stdout."""
    print(text, file=sys.stderr if getattr(args, "json", None) == "-" else sys.stdout)


def _outputs(args) -> list:
    return [getattr(args, n, None) for n in ("out", "json", "npy")]


def _model_spec(text: str | None) -> str:
    """``--model``: None or a bundled name -> its file; a checkpoint path (or run folder) as it is;
    a bare zoo model name -> ``zoo:NAME``."""
    from filterkit import models
    from filterkit.nn.zoo import model_names

    if text is None or text in {e["name"] for e in models.catalogue("digits")} or os.path.isdir(text):
        return str(models.resolve(text, "digits"))  # the bundled model, or a run folder's best.pt
    if text.startswith(ZOO_PREFIX) or os.path.exists(text):
        return text
    return ZOO_PREFIX + text if text in model_names() else text


def _load(args, spec: str, device):
    from filterkit.visualize.common import load_model

    return load_model(_model_spec(spec), device=device, seed=args.seed, model_name=args.arch)


def _prepare(args):
    """Check outputs, load the model (or list its layers); returns the VisModel or None when done."""
    import torch

    from filterkit.nn.train import configure_threads, select_device
    from filterkit.visualize.common import check_outputs, layer_names

    configure_threads()
    device = select_device(args.device)
    torch.manual_seed(args.seed)
    vm = _load(args, args.model, device)
    if args.list_layers:
        for name, desc in layer_names(vm.module):
            _say(args, f"{name:24s} {desc}")
        return None
    if not args.out:
        raise UserError(f"visualize {args.technique}: give the output PNG with -o OUT.png")
    check_outputs(_outputs(args), args.force)
    return vm


def _need_image(args) -> None:
    if not args.image:
        raise UserError(f"visualize {args.technique}: give an IMAGE (a file or skimage:NAME)")


def _first_conv_name(vm) -> str:
    from torch import nn

    for name, m in vm.module.named_modules():
        if isinstance(m, nn.Conv2d):
            return name
    raise UserError(f"{vm.source}: the model has no Conv2d layer; pass --layer")


def _image(args, vm, size=None):
    from filterkit.visualize.common import load_image

    c, h, w = vm.input_shape
    return load_image(args.image, channels=c, size=size or (h, w), invert=args.invert)


def _finish(args, figures: dict, array=None) -> int:
    from filterkit.io import atomic_write, write_report

    print(f"wrote {args.out}", file=sys.stderr)
    if args.json:
        written = write_report(args.json, figures, force=args.force, device=str(args.device))
        if written is not None:
            print(f"wrote {written}", file=sys.stderr)
    if args.npy and array is not None:
        import numpy as np

        print(f"wrote {atomic_write(args.npy, lambda p: np.save(p, np.asarray(array)))}", file=sys.stderr)
    return 0


def _indices(text: str | None, count: int, what: str) -> list[int]:
    if text is None:
        return []
    if text.strip() == "all":
        return list(range(count))
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UserError(f"--{what}: expected K, K1,K2,... or all, got {text!r}") from None
    bad = [v for v in values if not 0 <= v < count]
    if bad or not values:
        raise UserError(f"--{what} {text}: valid range is 0..{count - 1}")
    return values


# --------------------------------------------------------------------------- subcommands


def _run_train(args) -> int:
    from filterkit.apps.digits.data import load_digits_data
    from filterkit.apps.digits.config import DigitsConfig
    from filterkit.apps.digits.train import train
    from filterkit.nn.train import configure_threads, select_device
    from filterkit.visualize.common import check_outputs

    check_outputs([args.json], args.force)
    configure_threads()
    select_device(args.device)
    data = load_digits_data(args.data)
    config = DigitsConfig(epochs=args.epochs, seeds=(args.seed,), variants=("learned",), device=args.device)
    trainer = train(data, config, "learned", args.seed, out=args.out, force=args.force, progress=show_progress(args))
    path = Path(args.out) / "best.pt"
    last = trainer.history[-1]
    _say(args, f"{data.description}: test accuracy {100 * last['val_accuracy']:.2f}% after {args.epochs} epoch(s)")
    print(f"wrote {args.out}/ (best.pt, last.pt, metrics.csv, report.json)", file=sys.stderr)
    if args.json:
        from filterkit.io import write_report

        write_report(args.json, {"checkpoint": str(path), "dataset": data.summary(), "history": trainer.history,
                                 "seed": args.seed}, force=args.force, device=str(args.device))
    trainer.close()
    return 0


def _run_kernels(args) -> int:
    from filterkit.visualize.kernels import conv_weight, kernel_table, plot_kernel_comparison, plot_kernels, summarize

    vm = _prepare(args)
    if vm is None:
        return 0
    layer = args.layer or _first_conv_name(vm)
    table = kernel_table(vm, layer)
    if args.compare:
        plot_kernel_comparison(vm, layer, args.out, max_kernels=args.max)
    else:
        plot_kernels(vm, layer, args.out, max_kernels=args.max)
    weight = conv_weight(vm, layer)
    for row in table[: args.max]:
        _say(args, f"#{row['index']:<3d} nearest {row['nearest']!s:12s} cos {row['cosine']:+.3f}  |w| {row['norm']:.3f}")
    figures = {"model": vm.source, "layer": layer, "shape": list(weight.shape), "kernels": table,
               "summary": summarize(table), "seed": args.seed}
    return _finish(args, figures, weight)


def _run_features(args) -> int:
    from filterkit.visualize.features import feature_maps, feature_stats, plot_feature_maps

    vm = _prepare(args)
    if vm is None:
        return 0
    _need_image(args)
    layer = args.layer or _first_conv_name(vm)
    image = _image(args, vm, args.size)
    maps = feature_maps(vm, image, layer)
    plot_feature_maps(image, maps, layer, args.out, max_maps=args.max)
    figures = {"model": vm.source, "image": args.image, "layer": layer, "shape": list(maps.shape),
               "channels": feature_stats(maps), "seed": args.seed}
    return _finish(args, figures, maps)


def _run_maximize(args) -> int:
    import torch

    from filterkit.visualize.common import OUTPUT
    from filterkit.visualize.maximize import Target, maximize, plot_maximized

    vm = _prepare(args)
    if vm is None:
        return 0
    config = MaximizeConfig(
        steps=args.steps, lr=args.lr, l1=args.l1, l1_warmup=args.l1_warmup, tv=args.tv, blur_sigma=args.blur_sigma,
        blur_every=args.blur_every, jitter=args.jitter, scale=args.scale, rotate=args.rotate, param=args.param,
        decay=args.decay, init_scale=args.init_scale, objective=args.objective, size=args.size,
    )
    c, h, w = vm.input_shape
    probe = torch.zeros((1, c, args.size or h, args.size or w), device=vm.device)
    if args.klass is None and (args.channel is not None or args.neuron is not None) and not args.layer:
        raise UserError("--channel/--neuron need --layer (see --list-layers)")
    try:
        with torch.no_grad():
            out = vm.forward(probe) if args.klass is not None else vm.activations(probe, args.layer or OUTPUT)
    except RuntimeError as exc:
        raise UserError(f"{vm.name} cannot take {tuple(probe.shape[1:])} inputs "
                        f"({str(exc).splitlines()[0]}); change --size") from None
    if args.klass is not None:
        targets = [Target("class", OUTPUT, i) for i in _indices(args.klass, out.shape[1], "class")]
    elif args.channel is not None or args.neuron is not None:
        if args.channel is not None:
            targets = [Target("channel", args.layer, i) for i in _indices(args.channel, out.shape[1], "channel")]
        else:
            targets = [Target("neuron", args.layer, i) for i in _indices(args.neuron, out[0].numel(), "neuron")]
    else:
        raise UserError("say what to maximise: --class C, or --layer L with --channel K or --neuron J")
    result = maximize(vm, targets, config, seed=args.seed, progress=show_progress(args))
    plot_maximized(result, args.out, vm.label_names)
    for row in result.to_json()["results"]:
        t = row["target"]
        extra = f"  p {row['probability']:.4f}" if "probability" in row else ""
        _say(args, f"{t['kind']} {t['index']:<4d} activation {row['start_activation']:+.4g} -> "
              f"{row['final_activation']:+.4g}{extra}  zero pixels {100 * row['sparsity']:.0f}%")
    figures = {"model": vm.source, **result.to_json()}
    return _finish(args, figures, result.images)


def _run_saliency(args) -> int:
    from pathlib import Path as _Path

    from filterkit.visualize.saliency import plot_saliency, saliency_maps

    vm = _prepare(args)
    if vm is None:
        return 0
    _need_image(args)
    image = _image(args, vm)
    baseline = args.baseline
    if baseline not in ("black", "blur"):
        from filterkit.visualize.common import load_image

        if not baseline.startswith("skimage:") and not _Path(baseline).exists():
            raise UserError(f"--baseline {baseline}: not black, blur or an existing image file")
        c, h, w = vm.input_shape
        baseline = load_image(baseline, channels=c, size=(h, w)).numpy()
    maps = saliency_maps(vm, image, args.target, args.samples, args.noise, args.steps, baseline, args.seed)
    plot_saliency(image, maps, args.out)
    _say(args, f"class {maps.target} (p={maps.probability:.4f}): logit {maps.logit:.4f}, baseline logit "
          f"{maps.baseline_logit:.4f}, IG sum {maps.integrated.sum():.4f} (completeness error "
          f"{maps.completeness_error:+.2g})")
    import numpy as np

    stack = np.stack([maps.gradient, maps.abs_gradient, maps.smoothgrad, maps.abs_smoothgrad, maps.integrated])
    figures = {"model": vm.source, "image": args.image, **maps.to_json(),
               "npy_order": ["gradient", "abs_gradient", "smoothgrad", "abs_smoothgrad", "integrated"]}
    return _finish(args, figures, stack)


def _run_dream(args) -> int:
    from filterkit.visualize.common import load_image, plot_panels
    from filterkit.visualize.dream import deep_dream

    vm = _prepare(args)
    if vm is None:
        return 0
    _need_image(args)
    if not args.layer:
        raise UserError("dream needs --layer (see --list-layers)")
    config = DreamConfig(octaves=args.octaves, octave_scale=args.octave_scale, steps=args.steps, lr=args.lr)
    image = load_image(args.image, channels=vm.input_shape[0], size=args.size, invert=args.invert)
    result = deep_dream(vm, image, args.layer, config, seed=args.seed, progress=show_progress(args))
    plot_panels([(image[0], "input"), (result.image, f"dream on {args.layer}")], args.out,
                f"mean squared activation {result.start_objective:.3g} -> {result.final_objective:.3g} "
                f"({len(result.octave_sizes)} octaves, seed {args.seed})")
    _say(args, f"{args.layer}: mean squared activation {result.start_objective:.4g} -> {result.final_objective:.4g}")
    return _finish(args, {"model": vm.source, "image": args.image, "layer": args.layer, **result.to_json()},
                   result.image)


def _run_style(args) -> int:
    from filterkit.nn.train import configure_threads, select_device
    from filterkit.visualize.common import check_outputs, load_image, plot_panels
    from filterkit.visualize.style import ModelFeatures, RandomFilterFeatures, synthesize

    if not args.out:
        raise UserError("visualize style: give the output PNG with -o OUT.png")
    check_outputs(_outputs(args), args.force)
    configure_threads()
    device = select_device(args.device)
    config = StyleConfig(steps=args.steps, optimizer=args.optimizer, lr=args.lr, style_weight=args.style_weight,
                         content_weight=args.content_weight)
    if args.model:
        if not args.layers:
            raise UserError("--model needs --layers (comma-separated layer names)")
        vm = _load(args, args.model, device)
        extractor = ModelFeatures(vm, [s.strip() for s in args.layers.split(",") if s.strip()])
        channels = vm.input_shape[0]
        name = f"{vm.source}: {args.layers}"
    else:
        channels = 3 if args.colour else 1
        extractor = RandomFilterFeatures(channels, filters=args.filters, levels=args.levels, seed=args.seed).to(device)
        name = f"random filters {extractor.scales} px x {args.filters} on {extractor.levels} pyramid levels"
    style = load_image(args.style, channels=channels, size=args.size).to(device)
    texture = args.content in ("noise", "-")
    content = None if texture else load_image(args.content, channels=channels, size=args.size).to(device)
    size = (args.size, args.size) if texture else None
    result = synthesize(extractor, style, content, size=size, config=config, seed=args.seed,
                        progress=show_progress(args), extractor_name=name)
    panels = ([] if texture else [(content[0], "content")]) + [(style[0], "style"), (result.image, result.mode)]
    plot_panels(panels, args.out,
                f"Gram distance {result.start_gram_distance:.3g} -> {result.final_gram_distance:.3g} "
                f"({config.optimizer}, {len(result.loss_history)} evaluations, {result.seconds:.0f} s)")
    _say(args, f"{result.mode}: Gram distance {result.start_gram_distance:.4g} -> {result.final_gram_distance:.4g}, "
          f"loss {result.start_loss:.4g} -> {result.final_loss:.4g} in {result.seconds:.1f} s ({config.optimizer})")
    figures = {"content": args.content, "style": args.style, **result.to_json()}
    return _finish(args, figures, result.image)


_RUNNERS = {
    "train": _run_train,
    "kernels": _run_kernels,
    "features": _run_features,
    "maximize": _run_maximize,
    "saliency": _run_saliency,
    "dream": _run_dream,
    "style": _run_style,
}


def run(args: argparse.Namespace) -> int:
    return _RUNNERS[args.technique](args)

