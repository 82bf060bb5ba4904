"""``filterkit speech``: train, evaluate and use frequency-axis CNN keyword classifiers."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from filterkit.errors import UserError

HELP = "speech keyword classifier: train, eval, predict, features, synth, download"

DESCRIPTION = """\
Keyword / spoken-digit classification with CNNs whose filters slide along the
frequency axis of log-mel spectrograms (Sainath & Parada 2015).

DATA is a folder per label (DATA/yes/*.wav, as Google Speech Commands), a folder
of FSDD-named clips ({digit}_{speaker}_{take}.wav, e.g. the Free Spoken Digit
Dataset's recordings/), or a CSV manifest with columns path,label[,speaker].
Audio is read with soundfile; stereo is mixed to mono and other sample rates
are resampled to --sample-rate.

examples:
  filterkit speech synth demo/                          # espeak-ng digits, offline
  filterkit speech train demo/ --eval loso --epochs 10 --json loso.json
  filterkit speech train FSDD/recordings --eval official -o runs/fsdd
  filterkit speech predict runs/fsdd/model.pt clip.wav --top-k 3
  filterkit speech features clip.wav --plot clip.png
  filterkit speech download fsdd data/fsdd              # verified against shipped checksums
"""


# ----------------------------------------------------------------------------- parser


def _add_feature_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("features (stored in the checkpoint)")
    g.add_argument("--sample-rate", type=int, default=8000, help="Hz; audio is resampled to it (default 8000)")
    g.add_argument("--duration", type=float, default=1.0,
                   help="clip length in seconds with --placement center, pad/crop (default %(default)s)")
    g.add_argument("--win-ms", type=float, default=25.0, help="analysis window in ms (default 25)")
    g.add_argument("--hop-ms", type=float, default=10.0, help="hop between frames in ms (default 10)")
    g.add_argument("--n-mels", type=int, default=40, help="mel bands (default 40)")
    g.add_argument("--fmin", type=float, default=20.0, help="lowest mel band edge in Hz (default 20)")
    g.add_argument("--fmax", type=float, default=None, help="highest mel band edge in Hz (default sample_rate/2)")
    g.add_argument("--scale", choices=["db", "log", "pcen"], default="db",
                   help="db: 10 log10 power, clipped 80 dB below the peak; log: ln(power + 1e-6); pcen: "
                        "per-channel energy normalisation (gain 0.98, bias 2, power 0.5, 400 ms smoother) "
                        "(default db)")
    g.add_argument("--normalize", choices=["cmvn", "mean", "none"], default="mean",
                   help="per-utterance normalisation of each mel band over time (default %(default)s)")
    g.add_argument("--placement", choices=["center", "stretch"], default="stretch",
                   help="center: pad/crop the clip to --duration; stretch: trim silence and resample the "
                        "log-mel image to --stretch-frames frames, whatever the speaking rate (default %(default)s)")
    g.add_argument("--stretch-frames", type=int, default=32, help="frames per clip with --placement stretch "
                                                                   "(default 32)")


_SCALE_UNITS = {"db": "dB", "log": "ln power", "pcen": "PCEN"}  # labels of feature values


def _feature_config(args: argparse.Namespace):
    from filterkit.apps.speech.features import FeatureConfig

    try:
        return FeatureConfig(sample_rate=args.sample_rate, duration_s=args.duration, win_ms=args.win_ms,
                             hop_ms=args.hop_ms, n_mels=args.n_mels, fmin=args.fmin, fmax=args.fmax,
                             scale=args.scale, normalize=args.normalize, placement=args.placement,
                             stretch_frames=args.stretch_frames)
    except ValueError as exc:
        raise UserError(f"feature settings: {exc}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from filterkit.cli.common import add_device_option, add_json_option, add_seed_option

    sub = parser.add_subparsers(dest="speech_command", metavar="SUBCOMMAND")
    sub.required = True

    p = sub.add_parser("train", help="train a classifier and report held-out accuracy",
                       description="Train from scratch and evaluate on held-out clips (or speakers).")
    p.add_argument("data", metavar="DATA", help="folder per label, FSDD-named folder, or CSV manifest")
    p.add_argument("--model", default="fstack",
                   help="fstack (default: stacked frequency-only convolutions), fstride4, fpool (frequency-only, "
                        "one layer), trad-fpool3 (Sainath & Parada) or tf2d (time-frequency 2-D baseline)")
    p.add_argument("--model-options", metavar="JSON", default=None,
                   help="keyword arguments of the model's constructor as a JSON object, e.g. "
                        "'{\"channels\": [32, 48], \"time_stride\": 4}' for fstack (stored in the checkpoint)")
    p.add_argument("--eval", choices=["official", "hash", "loso", "none"], default="official",
                   help="official: the dataset's split (FSDD takes 0-4 / Speech Commands testing_list.txt); "
                        "hash: 20%% of speakers by a stable hash; loso: leave one speaker out, one fold per "
                        "speaker (no checkpoint is kept); none: train on everything (default official)")
    p.add_argument("--epochs", type=int, default=30, help="training epochs (default 30)")
    p.add_argument("--batch-size", type=int, default=64, help="clips per batch (default 64)")
    p.add_argument("--lr", type=float, default=3e-3, help="peak learning rate of the one-cycle schedule (default 3e-3)")
    p.add_argument("--no-augment", action="store_true", help="switch off shift, noise, SpecAugment and VTLP")
    p.add_argument("--cepstral-mix", type=float, default=0.0, metavar="W",
                   help="after the CNN, fit a logistic regression on each clip's cepstral statistics (mean and "
                        "std of 13 MFCCs and their deltas over the whole clip, from the same front end) and mix: "
                        "p_cnn^(1-W) p_ceps^W renormalised; 0.5 was best on a dev split of FSDD's training takes "
                        "(speakers seen in training); costs about 0.6k parameters and 65k MACs per second of "
                        "audio (default 0: the CNN alone)")
    p.add_argument("--noise-prob", type=float, default=0.0,
                   help="probability of mixing background noise (DATA/_background_noise_ or synthetic white/"
                        "pink/brown) into a training clip at 10-30 dB SNR (default 0: off)")
    a = p.add_argument_group("augmentation of training clips (each setting also stored in the checkpoint)")
    a.add_argument("--shift-ms", type=float, default=None,
                   help="with --placement center: shift each clip by up to +-this many ms, zero-filled "
                        "(default 100; 0: off; no effect with --placement stretch, which trims the "
                        "silence and fills the frames with the speech)")
    a.add_argument("--vtlp", type=float, default=0.15,
                   help="vocal-tract-length perturbation: warp the mel axis by a factor drawn from "
                        "[1 - r, 1 + r] (default 0.15; 0: off)")
    a.add_argument("--freq-masks", type=int, default=2, help="SpecAugment masks along mel bands (default 2)")
    a.add_argument("--freq-mask-width", type=int, default=5, help="widest frequency mask, in bands (default 5)")
    a.add_argument("--time-masks", type=int, default=2, help="SpecAugment masks along frames (default 2)")
    a.add_argument("--time-mask-width", type=int, default=10, help="widest time mask, in frames (default 10)")
    p.add_argument("--extra-train", metavar="DIR", default=None,
                   help="more clips (any DATA layout, e.g. 'filterkit speech synth' voices) added to the training "
                        "side of every split; never tested on; their labels must be DATA's")
    p.add_argument("--seeds", type=int, default=1, help="repeat with seeds SEED..SEED+N-1 and report the spread")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: the engine's, 1)")
    p.add_argument("--jobs", type=int, default=1,
                   help="with --eval loso: train this many folds at once, one process each with 1 torch "
                        "thread (default 1; use the number of free cores)")
    p.add_argument("-o", "--out", metavar="DIR", default=None,
                   help="write model.pt, metrics and a confusion-matrix PNG here")
    p.add_argument("--force", action="store_true", help="overwrite an existing model.pt in --out")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    _add_feature_options(p)
    add_device_option(p)
    add_seed_option(p)
    add_json_option(p)

    p = sub.add_parser("eval", help="accuracy of a checkpoint on a dataset, per speaker, confusion matrix")
    p.add_argument("checkpoint", metavar="CKPT", help="model.pt written by 'filterkit speech train'")
    p.add_argument("data", metavar="DATA", help="dataset (all clips are scored unless --split test)")
    p.add_argument("--split", choices=["all", "test"], default="all",
                   help="all clips, or only the dataset's official test split (default all)")
    p.add_argument("--plot", metavar="PNG", default=None, help="draw the confusion matrix into this PNG")
    add_device_option(p, default="cpu")
    add_seed_option(p)
    add_json_option(p)

    p = sub.add_parser("predict", help="top-k labels with probabilities for audio files")
    p.add_argument("checkpoint", metavar="CKPT", help="model.pt written by 'filterkit speech train'")
    p.add_argument("files", nargs="+", metavar="FILE", help="audio files (WAV/FLAC/OGG)")
    p.add_argument("--top-k", type=int, default=3, help="labels to show per file (default 3)")
    add_device_option(p, default="cpu")
    add_seed_option(p)
    add_json_option(p)

    p = sub.add_parser("features", help="log-mel spectrogram of an audio file, as numbers and a picture")
    p.add_argument("file", metavar="FILE", help="audio file")
    p.add_argument("--plot", metavar="PNG", default=None, help="draw the spectrogram into this PNG")
    p.add_argument("--checkpoint", metavar="CKPT", default=None, help="use the feature settings of this model")
    _add_feature_options(p)
    p.set_defaults(duration=None, normalize="none", placement="center")
    add_json_option(p)

    p = sub.add_parser("synth", help="make an offline spoken-digit dataset with espeak-ng")
    p.add_argument("out", metavar="DIR", help="output folder ({digit}_{voice}_{take}.wav)")
    p.add_argument("--voices", type=int, default=6, help="number of voices, 1-8 (default 6)")
    p.add_argument("--takes", type=int, default=10,
                   help="takes per digit and voice (default 10; FSDD's official split tests takes 0-4)")
    p.add_argument("--sample-rate", type=int, default=8000, help="Hz (default 8000, as FSDD)")
    p.add_argument("--force", action="store_true", help="rewrite existing files")
    add_seed_option(p)

    p = sub.add_parser("download", help="download Speech Commands v2 or FSDD and verify checksums",
                       description="Download a dataset, check its SHA-256 and unpack it into DEST. FSDD "
                                   "recordings are checked one by one against the v1.0.10 checksums shipped "
                                   "with filterkit; the Speech Commands v2 tarball against its published "
                                   "SHA-256 (TensorFlow Datasets / torchaudio).")
    p.add_argument("name", metavar="NAME", choices=["speech-commands-v2", "fsdd"],
                   help="speech-commands-v2 (2.4 GB) or fsdd (about 20 MB)")
    p.add_argument("dest", metavar="DEST", help="folder to unpack into (FSDD: DEST/recordings)")
    p.add_argument("--url", default=None, help="download from this URL instead (a mirror, or file:// for a local "
                                               "copy); the same checks apply")
    p.add_argument("--sha256", default=None, help="also require this SHA-256 of the downloaded file")
    p.add_argument("--force", action="store_true", help="unpack into a folder that is not empty")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    return {"train": _train, "eval": _eval, "predict": _predict, "features": _features, "synth": _synth,
            "download": _download}[
        args.speech_command
    ](args)


# ----------------------------------------------------------------------------- helpers


def _check_new(path: Path | None, force: bool) -> None:
    if path is not None and path.exists() and not force:
        raise UserError(f"{path}: already exists (use --force to overwrite)")


def _confusion_png(result: dict, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from filterkit.io import atomic_write

    cm = np.array(result["confusion"])
    labels = result["labels"]
    fig, ax = plt.subplots(figsize=(1 + 0.5 * len(labels), 1 + 0.45 * len(labels)), dpi=100)
    ax.imshow(cm, cmap="Blues")
    for (i, j), v in np.ndenumerate(cm):
        if v:
            ax.text(j, i, str(v), ha="center", va="center", fontsize=8,
                    color="white" if v > cm.max() / 2 else "black")
    ax.set_xticks(range(len(labels)), labels, rotation=90 if max(map(len, labels)) > 3 else 0)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{title}: accuracy {result['accuracy']:.1%} (n={result['n']})", fontsize=9)
    fig.tight_layout()
    atomic_write(path, lambda p: fig.savefig(p, format="png"))
    plt.close(fig)


def _print_result(result: dict) -> None:
    mixed = (f" (the CNN alone {result['cnn_accuracy']:.2%}; cepstral weight {result['cepstral_mix']:g})"
             if "cnn_accuracy" in result else "")
    print(f"accuracy {result['accuracy']:.2%} on {result['n']} clips{mixed}")
    for speaker, r in result["per_speaker"].items():
        print(f"  {speaker:<16} {r['accuracy']:.2%}  (n={r['n']})")


# ----------------------------------------------------------------------------- commands


def _augment_config(args: argparse.Namespace):
    """The training augmentation from the command line (one-line errors for impossible values)."""
    from filterkit.apps.speech.augment import AugmentConfig

    shift_ms = 100.0 if args.shift_ms is None else args.shift_ms
    if shift_ms < 0 or not 0.0 <= args.vtlp < 1.0:
        raise UserError(f"--shift-ms must be >= 0 and --vtlp in [0, 1), got {shift_ms} and {args.vtlp}")
    if args.shift_ms and args.placement == "stretch":
        print("filterkit: warning: --shift-ms has no effect with --placement stretch (each clip is trimmed "
              "to its speech and stretched to --stretch-frames)", file=sys.stderr)
    counts = {"--freq-masks": args.freq_masks, "--freq-mask-width": args.freq_mask_width,
              "--time-masks": args.time_masks, "--time-mask-width": args.time_mask_width}
    for name, value in counts.items():
        if value < 0:
            raise UserError(f"{name} must be >= 0, got {value}")
    return AugmentConfig(shift_ms=shift_ms, noise_prob=args.noise_prob, freq_masks=args.freq_masks,
                         freq_mask_width=args.freq_mask_width, time_masks=args.time_masks,
                         time_mask_width=args.time_mask_width, vtlp_range=args.vtlp)


def _train(args: argparse.Namespace) -> int:
    import statistics

    import numpy as np

    from filterkit.apps.speech.augment import AugmentConfig
    from filterkit.apps.speech.data import find_clips, hash_split, label_names, loso_folds, official_split
    from filterkit.apps.speech.model import model_names
    from filterkit.apps.speech.pipeline import (TrainSettings, background_noise, evaluate_model, load_extra_train,
                                                 load_waves, parse_model_options, run_jobs, train_model)
    from filterkit.io import write_json
    from filterkit.nn.train import distributed_info

    rank, world, _ = distributed_info()
    main_rank = rank == 0  # under torchrun every rank trains; only rank 0 prints and writes the report
    if args.model not in model_names():
        raise UserError(f"unknown --model {args.model!r}; choose one of {', '.join(model_names())}")
    if args.epochs < 1 or args.batch_size < 1 or args.seeds < 1 or args.jobs < 1:
        raise UserError("--epochs, --batch-size, --seeds and --jobs must be at least 1")
    if world > 1 and args.jobs > 1:
        raise UserError(f"--jobs {args.jobs}: fold processes cannot run under torchrun ({world} processes); "
                        "use --jobs 1")
    out = Path(args.out) if args.out else None
    if out is not None and args.eval != "loso":
        _check_new(out / "model.pt", args.force)
    if args.json:
        _check_new(Path(args.json), args.force)
    features = _feature_config(args)
    model_options = parse_model_options(args.model, args.model_options, features, args.seed)
    if not 0.0 <= args.cepstral_mix < 1.0:
        raise UserError(f"--cepstral-mix must be in [0, 1) (0: the CNN alone), got {args.cepstral_mix}")
    if not 0.0 <= args.noise_prob <= 1.0:
        raise UserError(f"--noise-prob must be between 0 and 1, got {args.noise_prob}")
    augment = AugmentConfig.off() if args.no_augment else _augment_config(args)
    clips, layout = find_clips(args.data)
    progress = not args.no_progress and main_rank
    clips, wave_list = load_waves(clips, features.sample_rate, progress=progress, skip_bad=True)
    if not clips:
        raise UserError(f"{args.data}: no usable audio clips")
    labels = label_names(clips, source=args.data)
    index = {name: i for i, name in enumerate(labels)}
    waves = dict(zip(clips, wave_list))
    noise = background_noise(args.data if Path(args.data).is_dir() else None, features.sample_rate, args.seed)
    extra, extra_waves = load_extra_train(args.extra_train, set(labels), features.sample_rate, progress)
    waves.update(zip(extra, extra_waves))

    def settings_for(seed: int) -> TrainSettings:
        return TrainSettings(model=args.model, model_options=model_options, epochs=args.epochs,
                             cepstral_mix=args.cepstral_mix,
                             batch_size=args.batch_size, lr=args.lr, features=features, augment=augment, seed=seed)

    seeds = [args.seed + k for k in range(args.seeds)]
    if args.eval == "loso":
        folds = loso_folds(clips)
        plan = [(seed, speaker, train + extra, test) for seed in seeds for speaker, train, test in folds]
        jobs = [{"train_waves": [waves[c] for c in train], "train_targets": [index[c.label] for c in train],
                 "test_waves": [waves[c] for c in test], "test_clips": test, "labels": labels,
                 "settings": settings_for(seed).to_dict(), "noise": noise, "threads": args.threads or 1}
                for seed, _, train, test in plan]
        rows: list[dict | None] = [None] * len(jobs)
        for i, r in run_jobs(jobs, args.jobs):
            seed, speaker = plan[i][0], plan[i][1]
            rows[i] = {"speaker": speaker, "seed": seed, "accuracy": r["accuracy"], "n": r["n"],
                       "train_s": round(r["train_s"], 1)}
            if main_rank:
                print(f"seed {seed} speaker {speaker:<14} accuracy {r['accuracy']:.2%} (n={r['n']}, "
                      f"trained in {r['train_s']:.0f} s)", flush=True)
        per_seed = [statistics.fmean(r["accuracy"] for r in rows if r["seed"] == s) for s in seeds]
        accs = [r["accuracy"] for r in rows]
        fold_means = {spk: statistics.fmean(r["accuracy"] for r in rows if r["speaker"] == spk) for spk, _, _ in folds}
        report = {
            "eval": "loso", "model": args.model, "epochs": args.epochs, "seeds": seeds,
            "extra_train": args.extra_train, "extra_train_clips": len(extra),
            "settings": settings_for(args.seed).to_dict(),
            "folds": rows,
            "mean": statistics.fmean(accs),
            "min": min(fold_means.values()),
            "std": statistics.pstdev(accs),
            "per_speaker_mean": fold_means,
            "seed_means": per_seed,
            "seed_std": statistics.pstdev(per_seed) if len(per_seed) > 1 else 0.0,
        }
        if not main_rank:
            return 0
        print(f"LOSO mean {report['mean']:.2%}  worst speaker {report['min']:.2%}  std over folds "
              f"{report['std']:.2%}" + (f"  std of seed means {report['seed_std']:.2%}" if len(seeds) > 1 else ""))
        if args.json:
            write_json(args.json, report)
        if out is not None:
            write_json(out / "loso.json", report)
        return 0

    if args.eval == "official":
        train, test = official_split(clips, layout, args.data if Path(args.data).is_dir() else None)
    elif args.eval == "hash":
        train, test = hash_split(clips)
    else:
        train, test = clips, []
    train = train + extra
    results = []
    for seed in seeds:
        trainer = train_model([waves[c] for c in train], [index[c.label] for c in train], labels,
                              settings_for(seed), noise=noise, device=args.device,
                              out_dir=out if seed == seeds[0] else None, progress=progress, threads=args.threads)
        r = evaluate_model(trainer.module, [waves[c] for c in test], test, labels, device=trainer.device) \
            if test else None
        if seed == seeds[0] and out is not None:
            # every rank calls it; the engine writes on rank 0 only
            head = trainer.module.cepstral
            trainer.save_checkpoint(out / "model.pt", extra={"eval": args.eval, "data": str(args.data),
                                                             **({"cepstral": head.to_dict()} if head else {})})
            if r is not None and main_rank:
                _confusion_png(r, out / "confusion.png", f"{args.model} on {Path(args.data).name}")
        if r is not None:
            results.append(r)
            if main_rank:
                print(f"seed {seed}: ", end="")
                _print_result(r)
    report: dict = {"eval": args.eval, "model": args.model, "epochs": args.epochs, "seeds": seeds,
                    "train_clips": len(train), "extra_train": args.extra_train, "extra_train_clips": len(extra), "settings": settings_for(args.seed).to_dict()}
    if results:
        report.update({k: results[0][k] for k in ("accuracy", "cnn_accuracy", "cepstral_mix", "n", "per_speaker",
                                                  "confusion", "labels") if k in results[0]})
        if len(results) > 1:
            accs = [r["accuracy"] for r in results]
            report.update({"accuracy_per_seed": accs, "accuracy_mean": float(np.mean(accs)),
                           "accuracy_std": float(np.std(accs))})
    if not main_rank:
        return 0
    if args.json:
        write_json(args.json, report)
    if out is not None:
        print(f"checkpoint: {out / 'model.pt'}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from filterkit.apps.speech.data import find_clips, official_split
    from filterkit.apps.speech.pipeline import evaluate_model, load_classifier, load_waves
    from filterkit.io import write_json
    from filterkit.nn.train import select_device

    model, ckpt = load_classifier(args.checkpoint)
    clips, layout = find_clips(args.data)
    if args.split == "test":
        _, clips = official_split(clips, layout, args.data if Path(args.data).is_dir() else None)
    clips, waves = load_waves(clips, model.frontend.config.sample_rate, skip_bad=True)
    if not clips:
        raise UserError(f"{args.data}: no usable audio clips")
    result = evaluate_model(model, waves, clips, ckpt["label_names"], device=select_device(args.device))
    _print_result(result)
    if args.plot:
        _confusion_png(result, Path(args.plot), Path(args.checkpoint).name)
    if args.json:
        write_json(args.json, result)
    return 0


def _predict(args: argparse.Namespace) -> int:
    from filterkit.apps.speech.audio import AudioError, load_audio
    from filterkit.apps.speech.pipeline import load_classifier, predict_waves
    from filterkit.io import write_json
    from filterkit.nn.train import select_device

    model, ckpt = load_classifier(args.checkpoint)
    labels = ckpt["label_names"]
    k = max(1, min(args.top_k, len(labels)))
    results, failed = [], 0
    for f in args.files:
        try:
            wave = load_audio(f, model.frontend.config.sample_rate)
        except AudioError as exc:
            print(f"filterkit: error: {exc}", file=sys.stderr)
            results.append({"file": f, "error": str(exc)})
            failed += 1
            continue
        probs = predict_waves(model, [wave], device=select_device(args.device))[0]
        top = probs.topk(k)
        entry = {"file": f, "top": [{"label": labels[i], "probability": float(p)}
                                    for p, i in zip(top.values.tolist(), top.indices.tolist())]}
        results.append(entry)
        print(f + ": " + ", ".join(f"{t['label']} {t['probability']:.3f}" for t in entry["top"]))
    if args.json:
        write_json(args.json, {"predictions": results})
    return 1 if failed else 0


def _features(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from filterkit.apps.speech.audio import load_audio
    from filterkit.apps.speech.features import LogMel
    from filterkit.io import atomic_write, write_json

    if args.checkpoint:
        from filterkit.apps.speech.pipeline import load_classifier

        config = load_classifier(args.checkpoint)[0].frontend.config
    else:
        config = _feature_config(args)
    wave = load_audio(args.file, config.sample_rate, allow_silent=True)
    if config.placement == "stretch" or config.duration_s is not None:  # exactly what a model sees
        from filterkit.apps.speech.features import clip_features

        feats = clip_features([wave], LogMel(config))[0].numpy()
    else:
        feats = LogMel(config)(torch.from_numpy(wave)).numpy()
    print(f"{args.file}: {wave.size / config.sample_rate:.3f} s at {config.sample_rate} Hz -> "
          f"{feats.shape[0]} mel bands x {feats.shape[1]} frames (hop {config.hop_ms:g} ms), "
          f"range {feats.min():.1f}..{feats.max():.1f} ({_SCALE_UNITS[config.scale]})")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(2, 1, figsize=(7, 5), dpi=100, gridspec_kw={"height_ratios": [1, 3]})
        t = np.arange(wave.size) / config.sample_rate
        axes[0].plot(t, wave, lw=0.5)
        axes[0].set_xlim(0, t[-1] if t.size else 1)
        axes[0].set_ylabel("amplitude")
        extent = [0, feats.shape[1] * config.hop_ms / 1000, 0, feats.shape[0]]
        im = axes[1].imshow(feats, origin="lower", aspect="auto", extent=extent, cmap="magma")
        axes[1].set_xlabel("time (s)")
        axes[1].set_ylabel("mel band")
        fig.colorbar(im, ax=axes, label=_SCALE_UNITS[config.scale])
        axes[0].set_title(Path(args.file).name, fontsize=9)
        atomic_write(Path(args.plot), lambda p: fig.savefig(p, format="png"))
        plt.close(fig)
        print(f"picture: {args.plot}")
    if args.json:
        write_json(args.json, {"file": args.file, "config": config.to_dict(), "shape": list(feats.shape),
                               "features": feats.round(3).tolist()})
    return 0


def _synth(args: argparse.Namespace) -> int:
    from filterkit.apps.speech.synth import synthesize_digits

    paths = synthesize_digits(args.out, voices=args.voices, takes=args.takes, sample_rate=args.sample_rate,
                              seed=args.seed, force=args.force)
    print(f"{len(paths)} clips in {args.out}")
    return 0


def _download(args: argparse.Namespace) -> int:
    from filterkit.apps.speech.download import download_dataset

    folder = download_dataset(args.name, args.dest, url=args.url, sha256=args.sha256, force=args.force,
                              progress=not args.no_progress)
    print(f"{args.name}: ready in {folder}")
    return 0
