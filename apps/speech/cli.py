"""``filterkit speech``: train, evaluate and use frequency-axis CNN keyword classifiers."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from filterkit.apps.speech.config import AugmentConfig, FeatureConfig, SpeechConfig
from filterkit.cli.common import (HelpFormatter, add_device_option, add_force_option, add_json_option,
                                  add_quiet_option, add_seed_option, float_range, int_range, show_progress)
from filterkit.errors import UserError
from filterkit.io import atomic_write, refuse_overwrite, write_report
from filterkit.models import resolve

HELP = "speech keyword classifier: train, eval, predict, features, synth, download"

DESCRIPTION = """\
Keyword / spoken-digit classification with CNNs whose filters slide along the
frequency axis of log-mel spectrograms (Sainath & Parada 2015).

DATA is a folder per label (DATA/yes/*.wav, as Google Speech Commands), a folder
of FSDD-named clips ({digit}_{speaker}_{take}.wav, e.g. the Free Spoken Digit
Dataset's recordings/), or a CSV manifest with columns path,label[,speaker].
Audio is read with soundfile; stereo is mixed to mono and other sample rates
are resampled to --sample-rate. Needs the speech extra: pip install "filterkit[speech]".

examples:
  filterkit speech synth demo/                          # espeak-ng digits, offline
  filterkit speech train demo/ --eval loso --epochs 10 --json loso.json
  filterkit speech train FSDD/recordings --eval official --out runs/fsdd
  filterkit speech predict clip.wav --model runs/fsdd/best.pt --top-k 3
  filterkit speech features clip.wav --plot clip.png
  filterkit speech download fsdd data/fsdd              # verified against shipped checksums
"""

_SCALE_UNITS = {"db": "dB", "log": "ln power", "pcen": "PCEN"}  # labels of feature values
_AUDIO_LIBRARIES = {"soundfile", "soxr", "librosa"}  # the speech extra

# ----------------------------------------------------------------------------- parser


def _add_feature_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("features (stored in the checkpoint)")
    g.add_argument("--sample-rate", type=int_range(1000, 192000), default=8000,
                   help="Hz; audio is resampled to it (default 8000)")
    g.add_argument("--duration", type=float_range(0, 60, lo_open=True), default=1.0,
                   help="clip length in seconds with --placement center, pad/crop (default %(default)s)")
    g.add_argument("--win-ms", type=float_range(1, 1000), default=25.0, help="analysis window in ms (default 25)")
    g.add_argument("--hop-ms", type=float_range(0.1, 1000), default=10.0, help="hop between frames in ms (default 10)")
    g.add_argument("--n-mels", type=int_range(1, 512), default=40, help="mel bands (default 40)")
    g.add_argument("--fmin", type=float_range(0), default=20.0, help="lowest mel band edge in Hz (default 20)")
    g.add_argument("--fmax", type=float_range(0, lo_open=True), default=None,
                   help="highest mel band edge in Hz (default sample_rate/2)")
    g.add_argument("--scale", choices=["db", "log", "pcen"], default="db",
                   help="db: 10 log10 power, clipped 80 dB below the peak; log: ln(power + 1e-6); pcen: "
                        "per-channel energy normalisation (gain 0.98, bias 2, power 0.5, 400 ms smoother) "
                        "(default db)")
    g.add_argument("--normalize", choices=["cmvn", "mean", "none"], default="mean",
                   help="per-utterance normalisation of each mel band over time (default %(default)s)")
    g.add_argument("--placement", choices=["center", "stretch"], default="stretch",
                   help="center: pad/crop the clip to --duration; stretch: trim silence and resample the "
                        "log-mel image to --stretch-frames frames, whatever the speaking rate (default %(default)s)")
    g.add_argument("--stretch-frames", type=int_range(2, 4096), default=32,
                   help="frames per clip with --placement stretch (default 32)")


def _add_augment_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-augment", action="store_true", help="switch off shift, noise, SpecAugment and VTLP")
    p.add_argument("--noise-prob", type=float_range(0, 1), default=0.0,
                   help="probability of mixing background noise (DATA/_background_noise_ or synthetic white/"
                        "pink/brown) into a training clip at 10-30 dB SNR (default 0: off)")
    a = p.add_argument_group("augmentation of training clips (each setting also stored in the checkpoint)")
    a.add_argument("--shift-ms", type=float_range(0), default=None,
                   help="with --placement center: shift each clip by up to +-this many ms, zero-filled "
                        "(default 100; 0: off; no effect with --placement stretch, which trims the "
                        "silence and fills the frames with the speech)")
    a.add_argument("--vtlp", type=float_range(0, 1, hi_open=True), default=0.15,
                   help="vocal-tract-length perturbation: warp the mel axis by a factor drawn from "
                        "[1 - r, 1 + r] (default 0.15; 0: off)")
    a.add_argument("--freq-masks", type=int_range(0, 100), default=2, help="SpecAugment masks along mel bands (default 2)")
    a.add_argument("--freq-mask-width", type=int_range(0), default=5, help="widest frequency mask, in bands (default 5)")
    a.add_argument("--time-masks", type=int_range(0, 100), default=2, help="SpecAugment masks along frames (default 2)")
    a.add_argument("--time-mask-width", type=int_range(0), default=10, help="widest time mask, in frames (default 10)")


def _add_train_parser(sub) -> None:
    p = sub.add_parser("train", help="train a classifier and report held-out accuracy", formatter_class=HelpFormatter,
                       description="Train from scratch and evaluate on held-out clips (or speakers).\n"
                                   "--out DIR gets best.pt (the model to use), last.pt, metrics.csv and\n"
                                   "report.json (--eval loso: report.json, and metrics.csv with one row per\n"
                                   "fold; no model is kept).")
    p.add_argument("data", metavar="DATA", help="folder per label, FSDD-named folder, or CSV manifest")
    p.add_argument("--arch", default="fstack",
                   help="fstack (default: stacked frequency-only convolutions), fstride4, fpool (frequency-only, "
                        "one layer), trad-fpool3 (Sainath & Parada) or tf2d (time-frequency 2-D baseline)")
    p.add_argument("--arch-options", metavar="JSON", default=None,
                   help="keyword arguments of the model's constructor as a JSON object, e.g. "
                        "'{\"channels\": [32, 48], \"time_stride\": 4}' for fstack (stored in the checkpoint)")
    p.add_argument("--eval", choices=["official", "hash", "loso", "none"], default="official",
                   help="official: the dataset's split (FSDD takes 0-4 / Speech Commands testing_list.txt); "
                        "hash: 20%% of speakers by a stable hash; loso: leave one speaker out, one fold per "
                        "speaker (no model is kept); none: train on everything (default official)")
    p.add_argument("--epochs", type=int_range(1, 100000), default=30, help="training epochs (default 30)")
    p.add_argument("--batch-size", type=int_range(1, 1 << 16), default=64, help="clips per batch (default 64)")
    p.add_argument("--lr", type=float_range(0, 10, lo_open=True), default=3e-3,
                   help="peak learning rate of the one-cycle schedule (default 3e-3)")
    p.add_argument("--mix", type=float_range(0, 1, lo_open=True), default=1.0, metavar="W",
                   help="the CNN's weight: after the CNN, fit a logistic regression on each clip's cepstral "
                        "statistics (mean and std of 13 MFCCs and their deltas over the whole clip, from the same "
                        "front end) and mix: p_cnn^W p_ceps^(1-W) renormalised; 0.5 was best on a dev split of "
                        "FSDD's training takes (speakers seen in training); costs about 0.6k parameters and 65k "
                        "MACs per second of audio (default 1: the CNN alone)")
    _add_augment_options(p)
    p.add_argument("--extra-train", metavar="DIR", default=None,
                   help="more clips (any DATA layout, e.g. 'filterkit speech synth' voices) added to the training "
                        "side of every split; never tested on; their labels must be DATA's")
    p.add_argument("--seeds", type=int_range(1, 1000), default=1,
                   help="repeat with seeds SEED..SEED+N-1 and report the spread")
    p.add_argument("--threads", type=int_range(1, 1024), default=None,
                   help="torch CPU threads (default: the engine's, 1)")
    p.add_argument("--jobs", type=int_range(1, 1024), default=1,
                   help="with --eval loso: train this many folds at once, one process each with 1 torch "
                        "thread (default 1; at most the usable cores)")
    p.add_argument("-o", "--out", metavar="DIR", default=None,
                   help="run folder: best.pt, last.pt, metrics.csv, report.json (and confusion.png)")
    add_force_option(p, "files in --out and --json")
    add_quiet_option(p)
    _add_feature_options(p)
    add_device_option(p)
    add_seed_option(p)
    add_json_option(p)


def _add_use_parsers(sub) -> None:
    """eval, predict and features: commands that use a trained model (``--model PATH``)."""
    model_help = ("bundled model name (see 'filterkit models'; default: the first speech model), or a checkpoint "
                  "written by 'filterkit speech train' (best.pt), or its run folder")
    p = sub.add_parser("eval", help="accuracy of a checkpoint on a dataset, per speaker, confusion matrix",
                       formatter_class=HelpFormatter)
    p.add_argument("data", metavar="DATA", help="dataset (all clips are scored unless --split test)")
    p.add_argument("--model", default=None, metavar="NAME|PATH", help=model_help)
    p.add_argument("--split", choices=["all", "test"], default="all",
                   help="all clips, or only the dataset's official test split (default all)")
    p.add_argument("--plot", metavar="PNG", default=None, help="draw the confusion matrix into this PNG")
    add_force_option(p, "--plot and --json files")
    add_quiet_option(p)
    add_device_option(p)
    add_json_option(p)

    p = sub.add_parser("predict", help="top-k labels with probabilities for audio files", formatter_class=HelpFormatter)
    p.add_argument("files", nargs="+", metavar="FILE", help="audio files (WAV/FLAC/OGG)")
    p.add_argument("--model", default=None, metavar="NAME|PATH", help=model_help)
    p.add_argument("--top-k", type=int_range(1, 1000), default=3, help="labels to show per file (default 3)")
    add_force_option(p, "--json file")
    add_device_option(p)
    add_json_option(p)

    p = sub.add_parser("features", help="log-mel spectrogram of an audio file, as numbers and a picture",
                       formatter_class=HelpFormatter)
    p.add_argument("file", metavar="FILE", help="audio file")
    p.add_argument("--plot", metavar="PNG", default=None, help="draw the spectrogram into this PNG")
    p.add_argument("--model", metavar="PATH", default=None,
                   help="use the feature settings of this checkpoint (or run folder) instead of the options")
    add_force_option(p, "--plot and --json files")
    _add_feature_options(p)
    p.set_defaults(duration=None, normalize="none", placement="center")
    add_json_option(p)


def _add_data_parsers(sub) -> None:
    """synth and download: commands that make datasets."""
    p = sub.add_parser("synth", help="make an offline spoken-digit dataset with espeak-ng", formatter_class=HelpFormatter)
    p.add_argument("out", metavar="DIR", help="output folder ({digit}_{voice}_{take}.wav)")
    p.add_argument("--voices", type=int_range(1, 8), default=6, help="number of voices, 1-8 (default 6)")
    p.add_argument("--takes", type=int_range(1, 10000), default=10,
                   help="takes per digit and voice (default 10; FSDD's official split tests takes 0-4)")
    p.add_argument("--sample-rate", type=int_range(1000, 192000), default=8000, help="Hz (default 8000, as FSDD)")
    p.add_argument("--force", action="store_true", help="rewrite existing files")
    add_quiet_option(p)
    add_seed_option(p)

    p = sub.add_parser("download", help="download Speech Commands v2 or FSDD and verify checksums",
                       formatter_class=HelpFormatter,
                       description="Download a dataset, check its SHA-256 and unpack it into DEST.\n"
                                   "FSDD recordings are checked one by one against the v1.0.10 checksums\n"
                                   "shipped with filterkit; the Speech Commands v2 tarball against its\n"
                                   "published SHA-256 (TensorFlow Datasets / torchaudio).")
    p.add_argument("name", metavar="NAME", choices=["speech-commands-v2", "fsdd"],
                   help="speech-commands-v2 (2.4 GB) or fsdd (about 20 MB)")
    p.add_argument("dest", metavar="DEST", help="folder to unpack into (FSDD: DEST/recordings)")
    p.add_argument("--url", default=None, help="download from this URL instead (a mirror, or file:// for a local "
                                               "copy); the same checks apply")
    p.add_argument("--sha256", default=None, help="also require this SHA-256 of the downloaded file")
    p.add_argument("--force", action="store_true", help="unpack into a folder that is not empty")
    add_quiet_option(p)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="speech_command", metavar="SUBCOMMAND")
    sub.required = True
    _add_train_parser(sub)
    _add_use_parsers(sub)
    _add_data_parsers(sub)


def run(args: argparse.Namespace) -> int:
    commands = {"train": _train, "eval": _eval, "predict": _predict, "features": _features, "synth": _synth,
                "download": _download}
    try:
        return commands[args.speech_command](args)
    except ModuleNotFoundError as exc:  # installed without the speech extra
        if (exc.name or "").split(".")[0] not in _AUDIO_LIBRARIES:
            raise
        from filterkit.apps.speech.audio import EXTRA_HINT

        raise UserError(f"the speech app needs {exc.name}, which is not installed: {EXTRA_HINT}") from None


# ----------------------------------------------------------------------------- helpers


def _feature_config(args: argparse.Namespace) -> FeatureConfig:
    try:
        return FeatureConfig(sample_rate=args.sample_rate, duration_s=args.duration, win_ms=args.win_ms,
                             hop_ms=args.hop_ms, n_mels=args.n_mels, fmin=args.fmin, fmax=args.fmax,
                             scale=args.scale, normalize=args.normalize, placement=args.placement,
                             stretch_frames=args.stretch_frames)
    except ValueError as exc:
        raise UserError(f"feature settings: {exc}") from None


def _augment_config(args: argparse.Namespace) -> AugmentConfig:
    """The training augmentation from the command line."""
    if args.no_augment:
        return AugmentConfig.off()
    if args.shift_ms and args.placement == "stretch":
        print("filterkit: warning: --shift-ms has no effect with --placement stretch (each clip is trimmed "
              "to its speech and stretched to --stretch-frames)", file=sys.stderr)
    return AugmentConfig(shift_ms=100.0 if args.shift_ms is None else args.shift_ms, noise_prob=args.noise_prob,
                         freq_masks=args.freq_masks, freq_mask_width=args.freq_mask_width,
                         time_masks=args.time_masks, time_mask_width=args.time_mask_width, vtlp_range=args.vtlp)


def _speech_config(args: argparse.Namespace) -> SpeechConfig:
    """The run's :class:`SpeechConfig` (seed ``args.seed``) from the command line; one-line errors."""
    from filterkit.apps.speech.model import model_names, parse_model_options

    if args.arch not in model_names():
        raise UserError(f"unknown --arch {args.arch!r}; choose one of {', '.join(model_names())}")
    features = _feature_config(args)
    options = parse_model_options(args.arch, args.arch_options, features, args.seed)
    return SpeechConfig(model=args.arch, model_options=options, epochs=args.epochs, batch_size=args.batch_size,
                        lr=args.lr, features=features, augment=_augment_config(args), seed=args.seed, mix=args.mix)


def _confusion_png(result: dict, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

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
    mixed = (f" (the CNN alone {result['cnn_accuracy']:.2%}; the CNN's weight {result['mix']:g})"
             if "cnn_accuracy" in result else "")
    print(f"accuracy {result['accuracy']:.2%} on {result['n']} clips{mixed}")
    for speaker, r in result["per_speaker"].items():
        print(f"  {speaker:<16} {r['accuracy']:.2%}  (n={r['n']})")


# ----------------------------------------------------------------------------- train


@dataclass
class _TrainingData:
    """What every split trains on: the clips, their decoded waves (extra clips too), labels, noise."""

    clips: list
    layout: str
    labels: list[str]
    waves: dict
    extra: list
    noise: list

    def targets(self, clips: list) -> list[int]:
        index = {name: i for i, name in enumerate(self.labels)}
        return [index[c.label] for c in clips]


def _read_training_data(args: argparse.Namespace, features: FeatureConfig, progress: bool) -> _TrainingData:
    from filterkit.apps.speech.data import background_noise, find_clips, label_names, load_extra_train, load_waves

    clips, layout = find_clips(args.data)
    clips, wave_list = load_waves(clips, features.sample_rate, progress=progress, skip_bad=True)
    if not clips:
        raise UserError(f"{args.data}: no usable audio clips")
    labels = label_names(clips, source=args.data)
    waves = dict(zip(clips, wave_list))
    noise = background_noise(args.data if Path(args.data).is_dir() else None, features.sample_rate, args.seed)
    extra, extra_waves = load_extra_train(args.extra_train, set(labels), features.sample_rate, progress)
    waves.update(zip(extra, extra_waves))
    return _TrainingData(clips, layout, labels, waves, extra, noise)


def _refuse_run_files(out: Path | None, args: argparse.Namespace) -> None:
    """Refuse, before any training, every file the run would overwrite without --force."""
    from filterkit.nn.train import RunFolder

    refuse_overwrite(args.json, args.force)
    if out is not None:
        RunFolder(out, args.force)  # refuses best.pt, last.pt, metrics.csv, report.json, or a file named DIR


def _train(args: argparse.Namespace) -> int:
    from filterkit.batch.pool import usable_cores
    from filterkit.nn.train import distributed_info

    rank, world, _ = distributed_info()
    main_rank = rank == 0  # under torchrun every rank trains; only rank 0 prints and writes the report
    if world > 1 and args.jobs > 1:
        raise UserError(f"--jobs {args.jobs}: fold processes cannot run under torchrun ({world} processes); "
                        "use --jobs 1")
    if args.jobs > usable_cores():
        print(f"filterkit: warning: --jobs {args.jobs} is more than the {usable_cores()} usable cores; "
              f"using {usable_cores()}", file=sys.stderr)
        args.jobs = usable_cores()
    out = Path(args.out) if args.out else None
    _refuse_run_files(out, args)
    config = _speech_config(args)
    progress = show_progress(args) and main_rank
    data = _read_training_data(args, config.features, progress)
    seeds = [args.seed + k for k in range(args.seeds)]
    report = {"eval": args.eval, "data": str(args.data), "model": args.arch, "epochs": args.epochs, "seeds": seeds,
              "extra_train": args.extra_train, "extra_train_clips": len(data.extra), "config": config.to_dict()}
    trainer = None
    if args.eval == "loso":
        report.update(_train_loso(args, config, data, seeds, main_rank))
    else:
        figures, trainer = _train_split(args, config, data, seeds, out, main_rank, progress)
        report.update(figures)
    if out is not None and trainer is not None:
        trainer.write_report(report)  # report.json: the engine's summary and these figures (rank 0 writes)
    if not main_rank:
        return 0
    if args.eval == "loso":
        print(f"LOSO mean {report['mean']:.2%}  worst speaker {report['min']:.2%}  std over folds "
              f"{report['std']:.2%}" + (f"  std of seed means {report['seed_std']:.2%}" if len(seeds) > 1 else ""))
        if out is not None:
            from filterkit.apps.speech.train import write_fold_run

            write_fold_run(out, report["folds"], report, force=args.force, device=args.device)
    if args.json:
        write_report(args.json, report, force=args.force, device=args.device)
    if out is not None:
        print(f"run folder: {out}")
    return 0


def _train_loso(args, config: SpeechConfig, data: _TrainingData, seeds: list[int], main_rank: bool) -> dict:
    """Leave one speaker out, for every seed: the folds' rows and their summary."""
    from dataclasses import replace

    from filterkit.apps.speech.data import loso_folds
    from filterkit.apps.speech.train import loso_summary, run_folds

    plan = [(seed, speaker, train + data.extra, test) for seed in seeds for speaker, train, test in
            loso_folds(data.clips)]
    jobs = [{"train_waves": [data.waves[c] for c in train], "train_targets": data.targets(train),
             "test_waves": [data.waves[c] for c in test], "test_clips": test, "labels": data.labels,
             "config": replace(config, seed=seed).to_dict(), "noise": data.noise, "threads": args.threads or 1}
            for seed, _, train, test in plan]
    rows: list[dict] = [{}] * len(jobs)
    for i, r in run_folds(jobs, args.jobs):
        seed, speaker = plan[i][0], plan[i][1]
        rows[i] = {"speaker": speaker, "seed": seed, "accuracy": r["accuracy"], "n": r["n"],
                   "train_s": round(r["train_s"], 1)}
        if main_rank:
            print(f"seed {seed} speaker {speaker:<14} accuracy {r['accuracy']:.2%} (n={r['n']}, "
                  f"trained in {r['train_s']:.0f} s)", flush=True)
    return {"folds": rows, **loso_summary(rows, seeds)}


def _train_split(args, config: SpeechConfig, data: _TrainingData, seeds: list[int], out: Path | None,
                 main_rank: bool, progress: bool):
    """Train on one split for every seed (the first seed's run fills --out) and score its test side.

    Returns the figures and the first seed's trainer (which owns the run folder).
    """
    from dataclasses import replace

    import numpy as np

    from filterkit.apps.speech.data import hash_split, official_split
    from filterkit.apps.speech.evaluate import evaluate
    from filterkit.apps.speech.train import train as train_model

    if args.eval == "official":
        train, test = official_split(data.clips, data.layout, args.data if Path(args.data).is_dir() else None)
    elif args.eval == "hash":
        train, test = hash_split(data.clips)
    else:
        train, test = data.clips, []
    train = train + data.extra
    results, first_trainer = [], None
    for seed in seeds:
        first = seed == seeds[0]
        trainer = train_model([data.waves[c] for c in train], data.targets(train), data.labels,
                              replace(config, seed=seed), noise=data.noise, device=args.device,
                              out_dir=out if first else None, force=args.force,
                              extra={"eval": args.eval, "data": str(args.data)}, progress=progress,
                              threads=args.threads)
        first_trainer = first_trainer or trainer
        if not test:
            continue
        r = evaluate(trainer.module, [data.waves[c] for c in test], test, data.labels, device=trainer.device)
        results.append(r)
        if main_rank:
            if first and out is not None:
                _confusion_png(r, out / "confusion.png", f"{args.arch} on {Path(args.data).name}")
            print(f"seed {seed}: ", end="")
            _print_result(r)
    report: dict = {"train_clips": len(train)}
    if results:
        report.update({k: results[0][k] for k in ("accuracy", "cnn_accuracy", "mix", "n", "per_speaker",
                                                  "confusion", "labels") if k in results[0]})
        if len(results) > 1:
            accs = [r["accuracy"] for r in results]
            report.update({"accuracy_per_seed": accs, "accuracy_mean": float(np.mean(accs)),
                           "accuracy_std": float(np.std(accs))})
    return report, first_trainer


# ----------------------------------------------------------------------------- use a model


def _eval(args: argparse.Namespace) -> int:
    from filterkit.apps.speech.data import find_clips, load_waves, official_split
    from filterkit.apps.speech.evaluate import load
    from filterkit.apps.speech.evaluate import evaluate as evaluate_model
    from filterkit.nn.train import select_device

    refuse_overwrite(args.plot, args.force)
    refuse_overwrite(args.json, args.force)
    model_path = resolve(args.model, "speech")
    model, ckpt = load(model_path)
    clips, layout = find_clips(args.data)
    if args.split == "test":
        _, clips = official_split(clips, layout, args.data if Path(args.data).is_dir() else None)
    clips, waves = load_waves(clips, model.frontend.config.sample_rate, progress=show_progress(args), skip_bad=True)
    if not clips:
        raise UserError(f"{args.data}: no usable audio clips")
    result = evaluate_model(model, waves, clips, ckpt["label_names"], device=select_device(args.device))
    _print_result(result)
    if args.plot:
        title = model_path.parent.name if model_path.name == "best.pt" else model_path.stem
        _confusion_png(result, Path(args.plot), title)
    if args.json:
        write_report(args.json, result, force=args.force, device=args.device)
    return 0


def _predict(args: argparse.Namespace) -> int:
    from filterkit.apps.speech.audio import AudioError, load_audio
    from filterkit.apps.speech.evaluate import load, predict
    from filterkit.nn.train import select_device

    refuse_overwrite(args.json, args.force)
    model_path = resolve(args.model, "speech")
    model, ckpt = load(model_path)
    labels = ckpt["label_names"]
    device = select_device(args.device)
    k = min(args.top_k, len(labels))
    results, failed = [], 0
    for f in args.files:
        try:
            wave = load_audio(f, model.frontend.config.sample_rate)
        except AudioError as exc:
            print(f"filterkit: error: {exc}", file=sys.stderr)
            results.append({"input": f, "error": str(exc)})
            failed += 1
            continue
        top = predict(model, [wave], device=device)[0].topk(k)
        ranked = [{"label": labels[i], "probability": float(p)} for p, i in zip(top.values.tolist(), top.indices.tolist())]
        entry = {"input": f, "label": ranked[0]["label"], "probability": ranked[0]["probability"], "top": ranked}
        results.append(entry)
        print(f + ": " + ", ".join(f"{t['label']} {t['probability']:.3f}" for t in entry["top"]))
    if args.json:
        write_report(args.json, {"model": str(model_path), "predictions": results}, force=args.force,
                     device=args.device)
    return 1 if failed else 0


def _features(args: argparse.Namespace) -> int:
    import torch

    from filterkit.apps.speech.audio import load_audio
    from filterkit.apps.speech.features import LogMel, clip_features

    refuse_overwrite(args.plot, args.force)
    refuse_overwrite(args.json, args.force)
    if args.model:
        from filterkit.apps.speech.evaluate import load

        config = load(resolve(args.model, "speech"))[0].frontend.config
    else:
        config = _feature_config(args)
    wave = load_audio(args.file, config.sample_rate, allow_silent=True)
    if config.placement == "stretch" or config.duration_s is not None:  # exactly what a model sees
        feats = clip_features([wave], LogMel(config))[0].numpy()
    else:
        feats = LogMel(config)(torch.from_numpy(wave)).numpy()
    print(f"{args.file}: {wave.size / config.sample_rate:.3f} s at {config.sample_rate} Hz -> "
          f"{feats.shape[0]} mel bands x {feats.shape[1]} frames (hop {config.hop_ms:g} ms), "
          f"range {feats.min():.1f}..{feats.max():.1f} ({_SCALE_UNITS[config.scale]})")
    if args.plot:
        _spectrogram_png(Path(args.plot), Path(args.file).name, wave, feats, config)
        print(f"picture: {args.plot}")
    if args.json:
        write_report(args.json, {"file": args.file, "config": config.to_dict(), "shape": list(feats.shape),
                                 "features": feats.round(3).tolist()}, force=args.force)
    return 0


def _spectrogram_png(path: Path, title: str, wave, feats, config: FeatureConfig) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

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
    axes[0].set_title(title, fontsize=9)
    atomic_write(path, lambda p: fig.savefig(p, format="png"))
    plt.close(fig)


# ----------------------------------------------------------------------------- datasets


def _synth(args: argparse.Namespace) -> int:
    from filterkit.apps.speech.synth import synthesize_digits

    paths = synthesize_digits(args.out, voices=args.voices, takes=args.takes, sample_rate=args.sample_rate,
                              seed=args.seed, force=args.force, progress=show_progress(args))
    print(f"{len(paths)} clips in {args.out}")
    return 0


def _download(args: argparse.Namespace) -> int:
    from filterkit.apps.speech.download import download_dataset

    folder = download_dataset(args.name, args.dest, url=args.url, sha256=args.sha256, force=args.force,
                              progress=show_progress(args))
    print(f"{args.name}: ready in {folder}")
    return 0
