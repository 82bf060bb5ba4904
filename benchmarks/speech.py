"""Benchmark of the speech app on FSDD: official split and leave-one-speaker-out (LOSO), per model.

For each model (frequency-only ``fstack``/``fstride4``/``fpool``, Sainath &
Parada's ``trad-fpool3`` and the time-frequency 2-D baseline ``tf2d``), in the
same run, with the same features, augmentation and epochs:

* parameters and multiply-adds per utterance (:func:`filterkit.nn.summary.summarize`,
  weights-only MACs as papers quote them, and with biases);
* official split (takes 0-4 are test): accuracy for each seed;
* LOSO: 6 folds (train on 5 speakers, test on the 6th) for each seed; the
  mean, the worst speaker (mean over seeds) and the spread (std over the
  per-seed means);
* wall time of the whole LOSO run (``--jobs`` processes, one torch thread each)
  and the median training time of one fold.

No fold is tuned on its test speaker: every fold uses the same fixed recipe.
``--extra-train DIR`` adds clips (e.g. ``filterkit speech synth`` voices) to
the *training* side of every split; the test sides are unchanged.

Usage::

    python benchmarks/speech.py --json bench_speech.json                 # all models, 3 seeds
    python benchmarks/speech.py --models fstack --seeds 1 --epochs 5     # quick check
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fsdd" / "recordings"
MODELS = ["fstack", "fstride4", "fpool", "trad-fpool3", "tf2d"]
TARGETS = {"official": 0.993, "loso_mean": 0.85, "loso_min": 0.70, "params": 50_000, "macs": 1_000_000}


def model_size(settings, n_classes: int) -> dict:
    """Parameters and multiply-adds per utterance of the network (the front end has no weights)."""
    from filterkit.apps.speech.model import SpeechClassifier
    from filterkit.nn.summary import summarize

    net = SpeechClassifier(settings, n_classes).net
    shape = (settings.features.n_mels, settings.features.num_frames)
    weights = summarize(net, shape, bias_macs=False)
    size = {"params": weights.total_params, "macs": weights.total_macs,
            "macs_with_bias": summarize(net, shape, bias_macs=True).total_macs}
    if settings.cepstral:  # the cepstral head's share, for a clip of one second
        import numpy as np

        from filterkit.apps.speech.cepstral import CepstralHead

        f, n_ceps = settings.features, 13
        head = CepstralHead(np.zeros(4 * n_ceps), np.ones(4 * n_ceps), np.zeros((4 * n_ceps, n_classes)),
                            np.zeros(n_classes), n_ceps, settings.mix)
        cost = {"cepstral_params": head.params, "cepstral_macs": head.macs(1 + f.sample_rate // f.hop_length, f.n_mels)}
        size.update(cost, params=size["params"] + cost["cepstral_params"], macs=size["macs"] + cost["cepstral_macs"],
                    macs_with_bias=size["macs_with_bias"] + cost["cepstral_macs"])
    return size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="FSDD recordings folder")
    parser.add_argument("--models", nargs="+", default=MODELS, help=f"models to run (default {' '.join(MODELS)})")
    parser.add_argument("--epochs", type=int, default=None, help="training epochs (default: the app's default)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds SEED..SEED+N-1 (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    parser.add_argument("--jobs", type=int, default=2, help="parallel training processes (default 2)")
    parser.add_argument("--model-options", metavar="JSON", default=None,
                        help="constructor keyword arguments for the model(s), as `speech train --arch-options`")
    parser.add_argument("--no-augment", action="store_true",
                        help="train without augmentation (shift, SpecAugment, VTLP), as `speech train --no-augment`")
    parser.add_argument("--mix", type=float, default=1.0, metavar="W",
                        help="the CNN's weight when mixed with the cepstral-statistics regression, as `speech train "
                             "--mix` (below 1 the head's parameters and MACs for a 1-s clip are added to the model's)")
    parser.add_argument("--skip-official", action="store_true", help="LOSO only")
    parser.add_argument("--skip-loso", action="store_true", help="official split only")
    parser.add_argument("--extra-train", default=None, metavar="DIR",
                        help="extra training clips (FSDD naming, e.g. espeak-ng voices) for every split")
    parser.add_argument("--json", default=None, metavar="PATH", help="write every figure as JSON")
    args = parser.parse_args(argv)

    import torch

    from filterkit.apps.speech.augment import AugmentConfig
    from filterkit.apps.speech.data import find_clips, label_names, loso_folds, official_split
    from filterkit.apps.speech.config import SpeechConfig
    from filterkit.apps.speech.data import load_extra_train, load_waves, synthetic_noise
    from filterkit.apps.speech.model import parse_model_options
    from filterkit.apps.speech.train import run_folds
    from filterkit.errors import UserError
    from filterkit.io import write_report

    torch.set_num_threads(1)
    if not Path(args.data).exists():
        print(f"benchmark needs FSDD at {args.data} (see ../shared/data/fsdd/SOURCE.md)", file=sys.stderr)
        return 2
    clips, layout = find_clips(args.data)
    labels = label_names(clips)
    index = {n: i for i, n in enumerate(labels)}
    if not 0.0 < args.mix <= 1.0:
        print(f"speech benchmark: --mix must be in (0, 1], got {args.mix}", file=sys.stderr)
        return 2
    base = SpeechConfig(mix=args.mix)
    if args.epochs is not None:
        base.epochs = args.epochs
    if args.no_augment:
        base.augment = AugmentConfig.off()
    sr = base.features.sample_rate
    try:
        for name in args.models:  # the same options go to every model: each must accept them
            model_options = parse_model_options(name, args.model_options, base.features, args.seed)
        extra, extra_waves = load_extra_train(args.extra_train, set(labels), sr, progress=False)
    except UserError as exc:
        print(f"speech benchmark: {exc}", file=sys.stderr)
        return 2
    clips, wave_list = load_waves(clips, sr, progress=False)
    waves = dict(zip(clips, wave_list))
    waves.update(zip(extra, extra_waves))
    noise = synthetic_noise(sr, seed=args.seed)
    seeds = [args.seed + k for k in range(args.seeds)]

    def job(train, test, settings):
        train = list(train) + extra
        return {"train_waves": [waves[c] for c in train], "train_targets": [index[c.label] for c in train],
                "test_waves": [waves[c] for c in test], "test_clips": test, "labels": labels,
                "config": settings.to_dict(), "noise": noise, "threads": 1}

    rows, report = [], {"data": str(args.data), "extra_train": args.extra_train, "seeds": seeds,
                        "augment": not args.no_augment, "mix": args.mix,
                        "jobs": args.jobs, "targets": TARGETS, "models": {}}
    for name in args.models:
        settings = replace(base, model=name, model_options=model_options)
        entry = {"config": settings.to_dict(), **model_size(settings, len(labels))}
        if not args.skip_official:
            train, test = official_split(clips, layout)
            plan = [replace(settings, seed=s) for s in seeds]
            start = time.perf_counter()
            results = dict(run_folds([job(train, test, p) for p in plan], args.jobs))
            entry["official"] = {"accuracy_per_seed": [results[i]["accuracy"] for i in range(len(seeds))],
                                 "wall_s": time.perf_counter() - start,
                                 "train_s": [results[i]["train_s"] for i in range(len(seeds))]}
            entry["official"]["mean"] = statistics.fmean(entry["official"]["accuracy_per_seed"])
            print(f"{name}: official {entry['official']['accuracy_per_seed']}", flush=True)
        if not args.skip_loso:
            folds = loso_folds(clips)
            plan = [(s, spk, train, test) for s in seeds for spk, train, test in folds]
            start = time.perf_counter()
            folds_out = [None] * len(plan)
            for i, r in run_folds([job(tr, te, replace(settings, seed=s))
                                  for s, _, tr, te in plan], args.jobs):
                folds_out[i] = {"seed": plan[i][0], "speaker": plan[i][1], "accuracy": r["accuracy"], "n": r["n"],
                                "train_s": r["train_s"]}
                print(f"{name}: seed {plan[i][0]} {plan[i][1]:<10} {r['accuracy']:.3f} ({r['train_s']:.0f} s)",
                      flush=True)
            wall = time.perf_counter() - start
            seed_means = [statistics.fmean(f["accuracy"] for f in folds_out if f["seed"] == s) for s in seeds]
            speakers = sorted({f["speaker"] for f in folds_out})
            per_speaker = {spk: statistics.fmean(f["accuracy"] for f in folds_out if f["speaker"] == spk)
                           for spk in speakers}
            entry["loso"] = {"folds": folds_out, "mean": statistics.fmean(seed_means), "seed_means": seed_means,
                             "seed_std": statistics.pstdev(seed_means), "per_speaker": per_speaker,
                             "min": min(per_speaker.values()), "wall_s": wall,
                             "wall_s_per_seed": wall / len(seeds),
                             "fold_train_s_median": statistics.median(f["train_s"] for f in folds_out)}
        report["models"][name] = entry
        rows.append(entry)
        if args.json:
            write_report(args.json, report)

    print()
    print(f"FSDD, {len(seeds)} seed(s), {base.epochs} epochs, {args.jobs} process(es)"
          + (f", extra training clips from {args.extra_train}" if args.extra_train else ""))
    head = f"{'model':<12} {'params':>7} {'MACs':>9} {'official':>9} {'LOSO mean':>10} {'+-':>5} " \
           f"{'LOSO min':>9} {'6-fold s':>9} {'fold s':>7}"
    print(head)
    print("-" * len(head))
    for name, e in report["models"].items():
        off = f"{100 * e['official']['mean']:.2f}" if "official" in e else "-"
        lo = e.get("loso")
        print(f"{name:<12} {e['params']:>7,} {e['macs']:>9,} {off:>9} "
              + (f"{100 * lo['mean']:>10.2f} {100 * lo['seed_std']:>5.2f} {100 * lo['min']:>9.2f} "
                 f"{lo['wall_s_per_seed']:>9.0f} {lo['fold_train_s_median']:>7.0f}" if lo else ""))
        if lo:
            print(" " * 13 + "per speaker: " + ", ".join(f"{k} {100 * v:.1f}" for k, v in lo["per_speaker"].items()))
    if args.json:
        write_report(args.json, report)
        print(f"JSON: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
