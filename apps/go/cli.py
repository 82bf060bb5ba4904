"""``filterkit go``: prepare KGS/SGF data, train and evaluate a move-prediction CNN, play over GTP."""

from __future__ import annotations

import argparse
import io
import shlex
import sys
from pathlib import Path

from filterkit.cli.common import (HelpFormatter, add_device_option, add_force_option, add_json_option,
                                  add_quiet_option, add_seed_option, float_range, int_range, show_progress)
from filterkit.errors import UserError
from filterkit.models import resolve

from filterkit.apps.go.config import GoConfig
from filterkit.apps.go.coords import MAX_SIZE, MIN_SIZE

DEFAULT_PLAYOUTS = 1000  # the default player: search up to this many playouts ...
DEFAULT_SECONDS = 1.0  # ... or this many seconds per move, whichever ends first

HELP = "go move prediction with a policy CNN (AlphaGo SL net): prepare, train, eval, gtp, match"
DESCRIPTION = """\
Go move prediction with a convolutional policy network (AlphaGo's supervised
policy net: a 5x5 conv, 3x3 convs, a 1x1 conv to one logit per point + pass).
Needs the go extra (sgfmill) to read and write SGF: pip install "filterkit[go]".

DATA is the shared KGS copy (a folder with manifest.csv.gz, read by split:
train / val / test = KGS 2015 / future / ci_subset), or any .sgf file, folder
of them, or .tar.gz archive of them (one split called 'all').

examples:
  filterkit go prepare ../shared/data/go --out go-data --splits train,val,ci_subset
  filterkit go train go-data --out runs/go --layers 6 --width 64 --epochs 4 --epoch-positions 500000
  filterkit go eval go-data --model runs/go/best.pt --split ci_subset --json eval.json
  filterkit go gtp --model runs/go/best.pt
  filterkit go match --model runs/go/best.pt --opponent "gnugo --mode gtp --level 1" --games 40 --json m.json
"""

BOARD_SIZE = int_range(MIN_SIZE, MAX_SIZE)
POSITIVE = int_range(1)


def _splits(text: str) -> list[str]:
    splits = [s.strip() for s in text.split(",") if s.strip()]
    if not splits:
        raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated split names like train,val")
    return splits


def _engine(text: str) -> str:
    try:
        argv = shlex.split(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: cannot split into a command line ({exc})") from None
    if not argv:
        raise argparse.ArgumentTypeError("empty command line; give the GTP engine to play, e.g. "
                                         "'gnugo --mode gtp --level 1'")
    return text


def _add_prepare(sub) -> None:
    p = sub.add_parser("prepare", help="convert games once into memory-mapped position arrays",
                       description="Replay every game and store each position (1 byte per point: stone, "
                                   "liberties, age) in OUT/<split>/ for fast training.",
                       formatter_class=HelpFormatter)
    p.add_argument("data", metavar="DATA", help="KGS folder with manifest.csv.gz, or .sgf file/folder/archive")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (one subfolder per split)")
    p.add_argument("--splits", type=_splits, default=None,
                   help="comma-separated splits (default train,val,ci_subset with a manifest, else all)")
    p.add_argument("--max-games", type=POSITIVE, default=None, metavar="N", help="only the first N games of each split")
    p.add_argument("--size", type=BOARD_SIZE, default=19, help="board size; games of other sizes are skipped")
    p.add_argument("--ownership-games", type=int_range(0), default=0, metavar="N",
                   help="label N games per split that were scored by counting (drawn at random) with who owns "
                        "each point at the end, dead stones removed by GNU Go (--gnugo), for 'train --heads'; "
                        "about 0.5 s per game (0: none)")
    p.add_argument("--gnugo", type=_engine, default="gnugo --mode gtp --level 1", metavar="CMD",
                   help="GNU Go command line used for the dead stones of --ownership-games")
    add_seed_option(p)
    add_force_option(p, "split folders and --json file")
    add_quiet_option(p)
    add_json_option(p)


def _add_train(sub) -> None:
    d = GoConfig()
    t = sub.add_parser("train", help="train the policy network on prepared data", formatter_class=HelpFormatter,
                       description="Train on prepared splits; the run folder --out gets best.pt, last.pt, "
                                   "metrics.csv and report.json.")
    t.add_argument("data", metavar="PREPARED", help="folder written by 'filterkit go prepare'")
    t.add_argument("--out", required=True, metavar="DIR", help="run folder: best.pt, last.pt, metrics.csv, report.json")
    add_force_option(t, "run folder and --json file")
    t.add_argument("--resume", metavar="CKPT", default=None,
                   help="continue an interrupted run from its last.pt (same options; --epochs is the total)")
    t.add_argument("--init", metavar="CKPT", default=None,
                   help="start from this checkpoint's weights (same --layers/--width/--features) with a fresh "
                        "optimiser and schedule, e.g. to train longer at a lower --lr")
    t.add_argument("--train-split", default=d.train_split, help="split used for training")
    t.add_argument("--val-split", default=d.val_split, help="split used for validation (skipped when absent)")
    t.add_argument("--features", choices=["full", "stones"], default=d.features,
                   help="full: 17 planes (stones, liberties, ko, history, legal, ones); stones: 3 raw planes")
    t.add_argument("--layers", type=int_range(2, 64), default=d.layers, help="convolution layers (AlphaGo: 13)")
    t.add_argument("--width", type=int_range(1, 4096), default=d.width,
                   help="channels per hidden layer (AlphaGo: 192)")
    t.add_argument("--no-batch-norm", dest="batch_norm", action="store_false",
                   help="plain convolutions as in AlphaGo (default: BatchNorm after each hidden conv)")
    t.add_argument("--no-pass", dest="pass_move", action="store_false", help="no pass output")
    t.add_argument("--heads", action="store_true",
                   help="add the ownership and score heads and train on the positions of games prepared with "
                        "--ownership-games (loss: moves + ownership + score)")
    t.add_argument("--freeze-trunk", action="store_true",
                   help="with --heads and --init: train only the heads, the move predictions stay exactly "
                        "those of --init")
    t.add_argument("--ownership-weight", type=float_range(0, 100), default=d.ownership_weight,
                   help="weight of the ownership loss (with --heads)")
    t.add_argument("--score-weight", type=float_range(0, 100), default=d.score_weight,
                   help="weight of the score loss (with --heads)")
    t.add_argument("--epochs", type=POSITIVE, default=d.epochs, help="epochs")
    t.add_argument("--epoch-positions", type=POSITIVE, default=d.epoch_positions, metavar="N",
                   help="random training positions per epoch (default: all)")
    t.add_argument("--val-positions", type=POSITIVE, default=d.val_positions, metavar="N",
                   help="fixed, evenly spaced validation positions scored after each epoch")
    t.add_argument("--batch-size", type=int_range(1, 65536), default=d.batch_size, help="positions per batch")
    t.add_argument("--lr", type=float_range(0, 10), default=d.lr, help="AdamW learning rate")
    t.add_argument("--lr-schedule", choices=["cosine", "constant"], default=d.lr_schedule,
                   help="cosine: decay the learning rate to 0 over all steps of --epochs; constant: keep --lr")
    t.add_argument("--weight-decay", type=float_range(0, 10), default=d.weight_decay, help="AdamW weight decay")
    t.add_argument("--no-augment", dest="augment", action="store_false",
                   help="no random board symmetry per training position")
    t.add_argument("--workers", type=int_range(0, 64), default=d.workers, help="data-loading worker processes")
    add_quiet_option(t)
    add_seed_option(t)
    add_device_option(t)
    add_json_option(t)


def _add_eval(sub) -> None:
    e = sub.add_parser("eval", help="top-1/top-5 accuracy and NLL with 95%% intervals, vs trivial baselines",
                       formatter_class=HelpFormatter)
    e.add_argument("data", metavar="DATA",
                   help="prepared folder, or raw data (KGS folder / SGF files), converted in memory")
    e.add_argument("--model", default=None, metavar="NAME|PATH",
                   help="bundled model name (see 'filterkit models'; default: the first go model) or a checkpoint "
                        "from 'filterkit go train' (best.pt or its run folder)")
    e.add_argument("--split", default="ci_subset", help="split to score (test, ci_subset, val, all, ...)")
    e.add_argument("--symmetries", type=int, choices=[1, 8], default=1, help="average over 8 board symmetries")
    e.add_argument("--batch-size", type=int_range(1, 65536), default=512, help="positions per batch")
    add_quiet_option(e)
    add_seed_option(e)
    add_device_option(e)
    add_force_option(e, "--json file")
    add_json_option(e)


def _add_player(q: argparse.ArgumentParser) -> None:
    q.add_argument("--model", default=None, metavar="NAME|PATH",
                   help="bundled model name (see 'filterkit models'; default: the first go model) or a checkpoint "
                        "from 'filterkit go train' (best.pt or its run folder)")
    q.add_argument("--playouts", type=int_range(0, 1_000_000), default=DEFAULT_PLAYOUTS, metavar="N",
                   help="tree-search playouts per move, the network's heads judging each new position (needs a "
                        "model trained with --heads); 0: no search, the policy network's favourite move")
    q.add_argument("--seconds-per-move", type=float_range(0, 86400, lo_open=True), default=DEFAULT_SECONDS,
                   metavar="S", help="stop each search after S seconds even if playouts remain (GTP "
                                     "time_settings/time_left can shorten it further)")
    q.add_argument("--leaf", choices=["score", "ownership"], default="score",
                   help="what judges a position in the search: the score head, or the sum of the ownership head")
    q.add_argument("--c-puct", type=float_range(0, 100, lo_open=True), default=1.5,
                   help="exploration constant of the search")
    q.add_argument("--threads", type=int_range(1, 1024), default=1,
                   help="torch CPU threads (1 is fastest for this small network)")
    q.add_argument("--symmetries", type=int, choices=[1, 8], default=1,
                   help="with --playouts 0: average over 8 symmetries")
    q.add_argument("--resign-margin", type=float_range(0, 1), default=0.25,
                   help="resign when behind by this fraction of the board's points, after size^2/2 moves "
                        "(0: never): by the search's expected final margin, or with --playouts 0 by the area "
                        "count")
    q.add_argument("--pass-threshold", type=float_range(0, 1), default=0.5,
                   help="with --playouts 0: pass when the network gives passing more than this probability")
    q.add_argument("--play-out", action="store_true",
                   help="with --playouts 0: pass only when every legal move would fill our own eye or self-atari: play the "
                        "game out until dead stones are captured instead of passing when ahead on the "
                        "stones-all-alive count or when the network prefers passing")
    q.add_argument("--self-atari", type=int_range(0, MAX_SIZE ** 2), default=2, metavar="N",
                   help="with --playouts 0: never play a move that leaves N or more of our stones in atari without capturing "
                        "(0: allow)")
    q.add_argument("--tactics", type=int_range(0, MAX_SIZE ** 2), default=0, metavar="N",
                   help="with --playouts 0: read ataris and ladders: save or capture N or more stones first whenever possible, "
                        "and never run a group of 2+ stones into a ladder that works (0: off, the network "
                        "alone)")


def _add_gtp(sub) -> None:
    g = sub.add_parser("gtp", help="GTP v2 engine on stdin/stdout", formatter_class=HelpFormatter)
    _add_player(g)
    g.add_argument("--size", type=BOARD_SIZE, default=None, help="initial board size (default: the model's)")
    g.add_argument("--komi", type=float_range(-1000, 1000), default=7.5, help="initial komi")
    g.add_argument("--superko", action="store_true", help="forbid positional superko, not only simple ko")


def _add_match(sub) -> None:
    m = sub.add_parser("match", help="play against another GTP engine and report the win rate",
                       formatter_class=HelpFormatter)
    _add_player(m)
    m.add_argument("--opponent", type=_engine, default="gnugo --mode gtp --level 10",
                   help="command line of the GTP opponent")
    m.add_argument("--games", type=int_range(1, 100000), default=2,
                   help="games (colours alternate; game 1: we play black)")
    m.add_argument("--size", type=BOARD_SIZE, default=None, help="board size (default: the model's)")
    m.add_argument("--komi", type=float_range(-1000, 1000), default=7.5, help="komi")
    m.add_argument("--max-moves", type=POSITIVE, default=None, help="stop and score at this many moves (default 3*size^2)")
    m.add_argument("--timeout", type=float_range(0, 86400, lo_open=True), default=60.0, metavar="SECONDS",
                   help="longest wait for any one reply of the opponent")
    m.add_argument("--sgf-dir", default="go-match-games", metavar="DIR", help="where every game is saved as SGF")
    add_force_option(m, "games in a non-empty --sgf-dir and the --json file")
    add_quiet_option(m)
    add_seed_option(m)
    add_json_option(m)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="go_command", metavar="ACTION")
    sub.required = True
    for add in (_add_prepare, _add_train, _add_eval, _add_gtp, _add_match):
        add(sub)


# ------------------------------------------------------------------ running


def _report(args, data: dict) -> None:
    if args.json:
        from filterkit.io import write_report

        write_report(args.json, data, force=getattr(args, "force", False), device=data.get("device"))


def _check_json(args) -> None:
    """Refuse an existing --json file before any work is done."""
    from filterkit.io import refuse_overwrite

    refuse_overwrite(args.json, getattr(args, "force", False))


def _player(args):
    from filterkit.nn.train import configure_threads

    from filterkit.apps.go.engine import PolicyPlayer
    from filterkit.apps.go.model import load
    from filterkit.apps.go.search import SearchPlayer

    configure_threads(args.threads)
    args.model = resolve(args.model, "go")
    model, config = load(args.model)
    if args.playouts:
        if not model.has_heads:
            raise UserError(f"{args.model}: this network has no ownership/score heads, which the search needs "
                            "(train one with 'filterkit go train --heads'), or play it with --playouts 0")
        return SearchPlayer(model, config, args.playouts, args.seconds_per_move, args.leaf, args.c_puct,
                            resign_margin=args.resign_margin), config
    return PolicyPlayer(model, config, args.symmetries, args.resign_margin, args.pass_threshold,
                        args.self_atari or None, args.play_out, args.tactics), config


def _run_prepare(args) -> int:
    from filterkit.apps.go.data import prepare

    _check_json(args)
    infos = prepare(args.data, args.out, args.splits, args.max_games, args.size, args.force, show_progress(args),
                    ownership_games=args.ownership_games, gnugo=args.gnugo, seed=args.seed)
    report = {}
    out_text = sys.stderr if args.json == "-" else sys.stdout
    for split, info in infos.items():
        report[split] = {"games": info["games"], "positions": info["positions"], "skipped": info["skipped"]}
        labels = ""
        if "ownership" in info:
            report[split]["ownership"] = info["ownership"]
            labels = f", {info['ownership']['games']} with ownership labels"
        print(f"{split}: {info['games']} games, {info['positions']} positions, {len(info['skipped'])} skipped"
              f"{labels} -> {Path(args.out) / split}", file=out_text)
        for line in info["skipped"][:5]:
            print(f"  skipped {line}", file=sys.stderr)
    _report(args, report)
    return 0


def _train_config(args) -> GoConfig:
    return GoConfig(features=args.features, layers=args.layers, width=args.width, batch_norm=args.batch_norm,
                    pass_move=args.pass_move, epochs=args.epochs, epoch_positions=args.epoch_positions,
                    val_positions=args.val_positions, batch_size=args.batch_size, lr=args.lr,
                    lr_schedule=args.lr_schedule, weight_decay=args.weight_decay, augment=args.augment,
                    workers=args.workers, seed=args.seed, train_split=args.train_split, val_split=args.val_split,
                    heads=args.heads, freeze_trunk=args.freeze_trunk, ownership_weight=args.ownership_weight,
                    score_weight=args.score_weight)


def _run_train(args) -> int:
    from filterkit.apps.go.train import train

    out = Path(args.out)
    _check_json(args)
    report = train(args.data, out, _train_config(args), device=args.device, progress=show_progress(args),
                   resume=args.resume, init=args.init, force=args.force)
    last = report["history"][-1] if report["history"] else {}
    rate = report["positions_per_second"]
    out_text = sys.stderr if args.json == "-" else sys.stdout  # stdout carries the JSON then
    print(f"trained {report['train_positions_seen']} positions in {report['seconds']:.1f} s "
          f"({rate or 0:.0f} positions/s); last epoch: "
          + ", ".join(f"{k} {v:.4f}" for k, v in last.items() if k.startswith(("train_", "val_"))), file=out_text)
    print(f"run folder {out}: best.pt (epoch {report['best_epoch']}), last.pt, metrics.csv, report.json",
          file=out_text)
    _report(args, report)
    return 0


def _run_eval(args) -> int:
    from filterkit.nn.train import seed_everything

    from filterkit.apps.go.data import load_positions
    from filterkit.apps.go.evaluate import baselines, evaluate
    from filterkit.apps.go.model import load

    _check_json(args)
    seed_everything(args.seed)
    args.model = resolve(args.model, "go")
    model, config = load(args.model)
    progress = show_progress(args)
    positions = load_positions(args.data, args.split, config.size, progress=progress)
    report = evaluate(model, config, positions, args.symmetries, args.batch_size, args.seed, progress, args.device)
    report["baselines"] = baselines(positions, config.move_counts, args.seed)
    report["model"] = str(args.model)
    report["split"] = args.split
    out = sys.stderr if args.json == "-" else sys.stdout  # stdout carries the JSON then
    print(f"{args.split}: {report['positions']} positions from {report['games']} games", file=out)
    rows = [("model", report)] + list(report["baselines"].items())
    print(f"{'predictor':<22}{'top1':>20}{'top5':>20}{'nll':>22}", file=out)
    for name, r in rows:
        cells = [f"{r[k]:.4f} [{r[k + '_ci95'][0]:.3f},{r[k + '_ci95'][1]:.3f}]" for k in ("top1", "top5", "nll")]
        print(f"{name:<22}" + "".join(f"{c:>22}" for c in cells), file=out)
    _report(args, report)
    return 0


def _run_gtp(args) -> int:
    from filterkit import __version__

    from filterkit.apps.go.engine import gtp_handlers
    from filterkit.apps.go.gtp import GtpServer

    player, config = _player(args)
    handlers = gtp_handlers(player, args.size or config.size, args.komi, args.superko)
    # bytes in, bytes out: any input decodes (bad bytes become U+FFFD), only LF ends a line (GTP)
    stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace", newline="\n")
    stdout = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", errors="replace", newline="\n")
    GtpServer(handlers, "filterkit-go", __version__).serve(stdin, stdout)
    stdout.flush()
    return 0


def _run_match(args) -> int:
    from filterkit.io import refuse_overwrite
    from filterkit.nn.train import seed_everything

    from filterkit.apps.go.gtp import GtpError
    from filterkit.apps.go.match import play_match

    sgf_dir = Path(args.sgf_dir)
    if sgf_dir.is_file() or (sgf_dir.is_dir() and any(sgf_dir.iterdir())):
        refuse_overwrite(sgf_dir, args.force)
    _check_json(args)
    seed_everything(args.seed)
    player, config = _player(args)
    try:
        report = play_match(player, args.opponent, args.games, sgf_dir, args.size or config.size, args.komi,
                            args.max_moves, progress=show_progress(args), timeout=args.timeout)
    except FileNotFoundError as exc:
        raise UserError(str(exc)) from None
    except GtpError as exc:
        raise UserError(f"opponent {args.opponent!r}: {exc}") from None
    report["model"] = str(args.model)
    report["player"] = {"playouts": args.playouts, "seconds_per_move": args.seconds_per_move, "leaf": args.leaf,
                        "c_puct": args.c_puct, "threads": args.threads,
                        "symmetries": args.symmetries, "resign_margin": args.resign_margin,
                        "pass_threshold": args.pass_threshold, "self_atari": args.self_atari,
                        "play_out": args.play_out, "tactics": args.tactics}
    out = sys.stderr if args.json == "-" else sys.stdout
    print(f"{report['wins']}/{report['games']} wins vs {args.opponent} "
          f"(95% Wilson [{report['wilson_low']:.3f}, {report['wilson_high']:.3f}]), "
          f"Elo {_elo(report['elo'])} [{_elo(report['elo_low'])}, {_elo(report['elo_high'])}], "
          f"mean margin {_points(report['mean_margin'])} over {report['counted_games']} counted game(s), "
          f"{report['illegal_moves']} illegal moves; games in {sgf_dir}"
          + (f"; {report['void_games']} void game(s) replayed (the opponent's engine died)"
             if report["void_games"] else ""), file=out)
    _report(args, report)
    return 0


def _elo(value) -> str:
    return "unbounded" if value is None else f"{round(value):+d}"


def _points(value) -> str:
    return "n/a" if value is None else f"{value:+.1f}"


def run(args) -> int:
    return {"prepare": _run_prepare, "train": _run_train, "eval": _run_eval, "gtp": _run_gtp,
            "match": _run_match}[args.go_command](args)
