"""Rebuild the models that ship inside the package, measure them as shipped, and pack them.

Each bundled model has one recipe below: the filterkit commands that train it on ``--data``
(``../shared/data`` by default), the command that measures the packed (float16) model on its
held-out split, and the catalogue entry that ``filterkit models`` shows.  Every figure in the
catalogue comes from the measuring command run on the packed file, not from the training log.

    python benchmarks/models.py --models mnist-cnn sst2-cnn --out runs/models --json models.json
    python benchmarks/models.py --models go-policy --pack      # also write filterkit/models/

Without ``--pack`` the packed copies go to ``OUT/packed/`` (``FILTERKIT_MODELS_DIR``) and the
package is left alone.  A run folder that already holds ``best.pt`` is reused (``--retrain`` trains
again).  Table on stdout; ``--json`` writes the rows with the environment.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data"
# the go model's last step: ownership and score heads on the frozen trunk of the policy net {init}
GO_HEADS = ("filterkit go train {{out}}/go-data --out {{run}} --init {init} --layers 6 --width 48 --heads "
            "--freeze-trunk --epochs 3 --epoch-positions 300000 --val-positions 10000 --lr 2e-3 --seed 0 --quiet")


@dataclass(frozen=True)
class Recipe:
    name: str
    app: str
    task: str
    data: tuple[str, ...]  # filterkit.models.DATASETS keys
    train: tuple[str, ...]  # commands; {data} {run} {out} are filled in
    measure: str  # a command whose --json holds the figure; {model} is the packed file
    metric: str  # key of the measure's JSON (dotted path)
    split: str
    # more figures: (name, command, key, what it is measured on); the first of all is the headline
    more: tuple[tuple[str, str, str, str], ...] = ()
    headline: str | None = None


RECIPES = {
    r.name: r
    for r in (
        Recipe(
            "mnist-cnn", "digits", "handwritten digit 0-9 from a 28x28 grey image (the lecture CNN)", ("mnist",),
            ("filterkit visualize train --data {data}/mnist --epochs 2 --seed 0 -o {run} --quiet",),
            "python benchmarks/models.py --evaluate-digits {model} --data {data}",
            "accuracy", "MNIST test set (10,000 images)",
        ),
        Recipe(
            "sst2-cnn", "text", "sentence sentiment, negative/positive (Kim CNN, multichannel GloVe 50-d, mixed "
            "with a 3-gram model)", ("sst2", "glove"),
            ("filterkit text train SST-2 --data-root {data}/text --seed 0 --jobs 1 --out {run} --quiet",),
            "filterkit text eval SST-2 --data-root {data}/text --model {model} --json {json}",
            "accuracy", "SST-2 test split (1,821 sentences)",
        ),
        Recipe(
            "speech-digits", "speech", "spoken digit 0-9 from a clip (frequency-only CNN, fstack)", ("fsdd", "espeak"),
            ("filterkit speech synth {out}/synth8x30 --voices 8 --takes 30 --quiet",
             "filterkit speech train {data}/fsdd/recordings --eval none --extra-train {out}/synth8x30 --seed 0 "
             "--out {run} --quiet"),
            "filterkit speech eval {data}/fsdd/recordings --model {model} --json {json}",
            "accuracy", "all 3,000 FSDD clips, all seen in training (a check of the packed weights, not a "
            "held-out figure: see loso_mean)",
            (("loso_mean", "filterkit speech train {data}/fsdd/recordings --eval loso --extra-train "
              "{out}/synth8x30 --seed 0 --jobs 2 --quiet --json {json}", "mean",
              "leave-one-speaker-out over FSDD's 6 speakers (seed 0): the same recipe trained without the "
              "held-out speaker, the synthetic voices on the training side only"),),
            headline="loso_mean",
        ),
        Recipe(
            "go-policy", "go", "next move of a 19x19 Go game (6x48 policy CNN, AlphaGo SL layout; 900k positions, "
            "then 500k more at a lower learning rate) with ownership and score heads trained on its frozen trunk "
            "(2,400 counted games) for the tree search", ("kgs",),
            ("filterkit go prepare {data}/go --out {out}/go-data --splits train,val,ci_subset --ownership-games 2400 "
             "--quiet",
             "filterkit go train {out}/go-data --out {run}-base --layers 6 --width 48 --epochs 5 "
             "--epoch-positions 180000 --val-positions 10000 --lr 2e-3 --seed 0 --quiet",
             "filterkit go train {out}/go-data --out {run}-ft --init {run}-base/best.pt --layers 6 --width 48 "
             "--epochs 2 --epoch-positions 250000 --val-positions 10000 --lr 5e-4 --seed 0 --quiet",
             GO_HEADS.format(init="{run}-ft/best.pt")),
            "filterkit go eval {out}/go-data --model {model} --split ci_subset --json {json} --quiet",
            "top1", "ci_subset of the 2015 KGS test games (361 games, 70,313 positions)",
        ),
    )
}


def _run(command: str, env: dict) -> float:
    print(f"$ {command}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    subprocess.run(shlex.split(command), cwd=ROOT, env=env, check=True)
    return time.perf_counter() - start


def _measure(command: str, key: str, json_path: Path, env: dict, **fill) -> float:
    """Run a measuring command and read ``key`` from its JSON (``--json {json}``, else its stdout)."""
    json_path.unlink(missing_ok=True)
    command = command.format(json=json_path, **fill)
    if "--json" in command:
        _run(command, env)
        report = json.loads(json_path.read_text())
    else:
        out = subprocess.run(shlex.split(command), cwd=ROOT, env=env, check=True, capture_output=True, text=True)
        report = json.loads(out.stdout)
    return float(_figure(report, key))


def _figure(report: dict, key: str):
    for part in key.split("."):
        report = report[part]
    return report


def evaluate_digits(model: str, data: str) -> int:
    """``--evaluate-digits MODEL``: MNIST test accuracy of a digits checkpoint, as JSON on stdout."""
    from filterkit.apps.digits.data import load_digits_data
    from filterkit.apps.digits.evaluate import evaluate, load

    net, _ = load(model)
    figures = evaluate(net, load_digits_data(os.path.join(data, "mnist")))
    json.dump(figures, sys.stdout)
    return 0


def build(recipe: Recipe, args, env: dict) -> dict:
    import filterkit.models as bundled

    run = args.out / recipe.name
    fill = {"data": args.data, "out": args.out, "run": run}
    seconds = 0.0
    if args.retrain or not (run / "best.pt").is_file():
        for command in recipe.train:
            command = command.format(**fill)
            if args.retrain and "--out {run}".format(**fill) in command:
                command += " --force"
            seconds += _run(command, env)
    entry_command = " && ".join(c.format(data="DATA", out="OUT", run=f"OUT/{recipe.name}") for c in recipe.train)
    entry_command += f" && python benchmarks/models.py --models {recipe.name} --pack"
    placeholder = {"split": recipe.split}
    entry = bundled.pack(run / "best.pt", recipe.name, recipe.app, recipe.task, bundled.data_info(*recipe.data),
                         placeholder, entry_command)
    packed = bundled.models_dir() / entry["file"]
    value = _measure(recipe.measure, recipe.metric, args.out / f"{recipe.name}.measure.json", env,
                     model=packed, **fill)
    metrics = {"split": recipe.split, recipe.metric: value, "headline": recipe.headline or recipe.metric}
    for name, command, key, split in recipe.more:
        metrics[name] = _measure(command, key, args.out / f"{recipe.name}.{name}.json", env, model=packed, **fill)
        metrics[f"{name}_split"] = split
    entry = bundled.pack(run / "best.pt", recipe.name, recipe.app, recipe.task, bundled.data_info(*recipe.data),
                         metrics, entry_command)
    headline = metrics["headline"]
    split = recipe.split if headline == recipe.metric else metrics[f"{headline}_split"]
    return {"name": recipe.name, "app": recipe.app, "metric": headline, "value": metrics[headline], "split": split,
            "bytes": entry["bytes"], "train_s": round(seconds, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", choices=list(RECIPES), default=list(RECIPES))
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "models", help="run folders")
    parser.add_argument("--pack", action="store_true", help="write into filterkit/models/ (else OUT/packed/)")
    parser.add_argument("--retrain", action="store_true", help="train again even where OUT/NAME/best.pt exists")
    parser.add_argument("--json", metavar="PATH", default=None, help="write the rows as JSON ('-' for stdout)")
    parser.add_argument("--evaluate-digits", metavar="MODEL", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.evaluate_digits:
        return evaluate_digits(args.evaluate_digits, str(args.data))
    args.out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if not args.pack:
        env["FILTERKIT_MODELS_DIR"] = str(args.out / "packed")
        (args.out / "packed").mkdir(exist_ok=True)
        if not (args.out / "packed" / "catalogue.json").exists():
            (args.out / "packed" / "catalogue.json").write_text("[]\n")
    os.environ.update({k: v for k, v in env.items() if k == "FILTERKIT_MODELS_DIR"})
    rows = [build(RECIPES[name], args, env) for name in args.models]
    print(f"{'model':15s} {'app':7s} {'figure':>8s} {'value':>7s} {'MB':>6s} {'train s':>8s}  split")
    for r in rows:
        print(f"{r['name']:15s} {r['app']:7s} {r['metric']:>8s} {r['value']:7.4f} {r['bytes'] / 1e6:6.2f} "
              f"{r['train_s']:8.1f}  {r['split']}")
    if args.json:
        from filterkit.io import write_report

        write_report(args.json, {"models": rows}, force=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
