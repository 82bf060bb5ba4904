"""``filterkit go``: prepare KGS/SGF data, train and evaluate a move-prediction CNN, play over GTP."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from filterkit.cli.common import add_device_option, add_json_option, add_seed_option
from filterkit.errors import UserError

HELP = "go move prediction with a policy CNN (AlphaGo SL net): prepare, train, eval, gtp, match"
DESCRIPTION = """\
Go move prediction with a convolutional policy network (AlphaGo's supervised
policy net: a 5x5 conv, 3x3 convs, a 1x1 conv to one logit per point + pass).

DATA is the shared KGS copy (a folder with manifest.csv.gz, read by split:
train / val / test = KGS 2015 / future / ci_subset), or any .sgf file, folder
of them, or .tar.gz archive of them (one split called 'all').

examples:
  filterkit go prepare ../shared/data/go --out go-data --splits train,val,ci_subset
  filterkit go train go-data --out runs/go --layers 6 --width 64 --epochs 4 --epoch-positions 500000
  filterkit go eval runs/go/best.pt --data go-data --split ci_subset --json eval.json
  filterkit go gtp --model runs/go/best.pt
  filterkit go match --model runs/go/best.pt --opponent "gnugo --mode gtp --level 1" --games 40 --json m.json
"""


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Append ``(default: X)`` only where the help does not say it and X means something."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or action.default is None or isinstance(action.default, bool) \
                or action.default == argparse.SUPPRESS:
            return text
        return super()._get_help_string(action)


def _splits(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    fmt = _Formatter
    sub = parser.add_subparsers(dest="go_command", metavar="ACTION")
    sub.required = True

    p = sub.add_parser("prepare", help="convert games once into memory-mapped position arrays",
                       description="Replay every game and store each position (1 byte per point: stone, "
                                   "liberties, age) in OUT/<split>/ for fast training.", formatter_class=fmt)
    p.add_argument("data", metavar="DATA", help="KGS folder with manifest.csv.gz, or .sgf file/folder/archive")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (one subfolder per split)")
    p.add_argument("--splits", type=_splits, default=None,
                   help="comma-separated splits (default train,val,ci_subset with a manifest, else all)")
    p.add_argument("--max-games", type=int, default=None, metavar="N", help="only the first N games of each split")
    p.add_argument("--size", type=int, default=19, help="board size; games of other sizes are skipped")
    p.add_argument("--force", action="store_true", help="overwrite existing split folders")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    add_json_option(p)

    t = sub.add_parser("train", help="train the policy network on prepared data", formatter_class=fmt)
    t.add_argument("data", metavar="PREPARED", help="folder written by 'filterkit go prepare'")
    t.add_argument("--out", required=True, metavar="DIR", help="run folder: last.pt, best.pt, metrics.csv")
    t.add_argument("--force", action="store_true", help="train into an existing run folder")
    t.add_argument("--resume", metavar="CKPT", default=None,
                   help="continue an interrupted run from its last.pt (same options; --epochs is the total)")
    t.add_argument("--init", metavar="CKPT", default=None,
                   help="start from this checkpoint's weights (same --layers/--width/--features) with a fresh "
                        "optimiser and schedule, e.g. to train longer at a lower --lr")
    t.add_argument("--train-split", default="train", help="split used for training")
    t.add_argument("--val-split", default="val", help="split used for validation (skipped when absent)")
    t.add_argument("--features", choices=["full", "stones"], default="full",
                   help="full: 17 planes (stones, liberties, ko, history, legal, ones); stones: 3 raw planes")
    t.add_argument("--layers", type=int, default=6, help="convolution layers (AlphaGo: 13)")
    t.add_argument("--width", type=int, default=64, help="channels per hidden layer (AlphaGo: 192)")
    t.add_argument("--no-batch-norm", dest="batch_norm", action="store_false",
                   help="plain convolutions as in AlphaGo (default: BatchNorm after each hidden conv)")
    t.add_argument("--no-pass", dest="pass_move", action="store_false", help="no pass output")
    t.add_argument("--epochs", type=int, default=1, help="epochs")
    t.add_argument("--epoch-positions", type=int, default=None, metavar="N",
                   help="random training positions per epoch (default: all)")
    t.add_argument("--val-positions", type=int, default=20000, metavar="N",
                   help="fixed, evenly spaced validation positions scored after each epoch")
    t.add_argument("--batch-size", type=int, default=128, help="positions per batch")
    t.add_argument("--lr", type=float, default=1e-3, help="AdamW learning rate")
    t.add_argument("--lr-schedule", choices=["cosine", "constant"], default="cosine",
                   help="cosine: decay the learning rate to 0 over all steps of --epochs; constant: keep --lr")
    t.add_argument("--weight-decay", type=float, default=1e-4, help="AdamW weight decay")
    t.add_argument("--no-augment", dest="augment", action="store_false",
                   help="no random board symmetry per training position")
    t.add_argument("--workers", type=int, default=0, help="data-loading worker processes")
    t.add_argument("--quiet", action="store_true", help="no progress bars")
    add_seed_option(t)
    add_device_option(t)
    add_json_option(t)

    e = sub.add_parser("eval", help="top-1/top-5 accuracy and NLL with 95%% intervals, vs trivial baselines",
                       formatter_class=fmt)
    e.add_argument("checkpoint", metavar="CKPT", help="checkpoint from 'filterkit go train'")
    e.add_argument("--data", required=True, metavar="DIR",
                   help="prepared folder, or raw data (KGS folder / SGF files), converted in memory")
    e.add_argument("--split", default="ci_subset", help="split to score (test, ci_subset, val, all, ...)")
    e.add_argument("--symmetries", type=int, choices=[1, 8], default=1, help="average over 8 board symmetries")
    e.add_argument("--batch-size", type=int, default=512, help="positions per batch")
    e.add_argument("--quiet", action="store_true", help="no progress bars")
    add_seed_option(e)
    add_json_option(e)

    def add_player(q: argparse.ArgumentParser) -> None:
        q.add_argument("--model", required=True, metavar="CKPT", help="checkpoint from 'filterkit go train'")
        q.add_argument("--symmetries", type=int, choices=[1, 8], default=1, help="average over 8 symmetries")
        q.add_argument("--resign-margin", type=float, default=0.25,
                       help="resign when behind on area by this fraction of the board, after size^2/2 moves "
                            "(0: never)")
        q.add_argument("--pass-threshold", type=float, default=0.5,
                       help="pass when the network gives passing more than this probability")
        q.add_argument("--play-out", action="store_true",
                       help="pass only when every legal move would fill our own eye or self-atari: play the "
                            "game out until dead stones are captured instead of passing when ahead on the "
                            "stones-all-alive count or when the network prefers passing")
        q.add_argument("--self-atari", type=int, default=2, metavar="N",
                       help="never play a move that leaves N or more of our stones in atari without capturing "
                            "(0: allow)")
        q.add_argument("--tactics", type=int, default=0, metavar="N",
                       help="read ataris and ladders: save or capture N or more stones first whenever possible, "
                            "and never run a group of 2+ stones into a ladder that works (0: off, the network "
                            "alone)")

    g = sub.add_parser("gtp", help="GTP v2 engine on stdin/stdout", formatter_class=fmt)
    add_player(g)
    g.add_argument("--size", type=int, default=None, help="initial board size (default: the model's)")
    g.add_argument("--komi", type=float, default=7.5, help="initial komi")
    g.add_argument("--superko", action="store_true", help="forbid positional superko, not only simple ko")

    m = sub.add_parser("match", help="play against another GTP engine and report the win rate",
                       formatter_class=fmt)
    add_player(m)
    m.add_argument("--opponent", default="gnugo --mode gtp --level 10", help="command line of the GTP opponent")
    m.add_argument("--games", type=int, default=2, help="games (colours alternate; game 1: we play black)")
    m.add_argument("--size", type=int, default=None, help="board size (default: the model's)")
    m.add_argument("--komi", type=float, default=7.5, help="komi")
    m.add_argument("--max-moves", type=int, default=None, help="stop and score at this many moves (default 3*size^2)")
    m.add_argument("--sgf-dir", default="go-match-games", metavar="DIR", help="where every game is saved as SGF")
    m.add_argument("--force", action="store_true", help="write into a non-empty --sgf-dir")
    m.add_argument("--quiet", action="store_true", help="no progress bars")
    add_seed_option(m)
    add_json_option(m)


def _write_json(path: str | None, data: dict) -> None:
    if path:
        from filterkit.io import write_json

        write_json(path, data)


def _player(args):
    from filterkit.apps.go.engine import PolicyPlayer
    from filterkit.apps.go.pipeline import load_model

    model, config = load_model(args.model)
    if args.self_atari < 0:
        raise UserError(f"--self-atari {args.self_atari}: must be 0 or more")
    if args.tactics < 0:
        raise UserError(f"--tactics {args.tactics}: must be 0 (off) or a number of stones")
    return PolicyPlayer(model, config, args.symmetries, args.resign_margin, args.pass_threshold,
                        args.self_atari or None, args.play_out, args.tactics), config


def _run_prepare(args) -> int:
    from filterkit.apps.go.pipeline import prepare

    infos = prepare(args.data, args.out, args.splits, args.max_games, args.size, args.force, not args.quiet)
    report = {}
    for split, info in infos.items():
        report[split] = {"games": info["games"], "positions": info["positions"], "skipped": info["skipped"]}
        print(f"{split}: {info['games']} games, {info['positions']} positions, {len(info['skipped'])} skipped "
              f"-> {Path(args.out) / split}")
        for line in info["skipped"][:5]:
            print(f"  skipped {line}", file=sys.stderr)
    _write_json(args.json, report)
    return 0


def _run_train(args) -> int:
    from filterkit.apps.go.pipeline import train

    out = Path(args.out)
    if out.exists() and any(out.iterdir()) and not (args.force or args.resume):
        raise UserError(f"{out}: run folder exists and is not empty (use --force)")
    report = train(args.data, out, features=args.features, layers=args.layers, width=args.width,
                   batch_norm=args.batch_norm, pass_move=args.pass_move, epochs=args.epochs,
                   epoch_positions=args.epoch_positions, val_positions=args.val_positions,
                   batch_size=args.batch_size, lr=args.lr, lr_schedule=args.lr_schedule,
                   weight_decay=args.weight_decay, augment=args.augment,
                   device=args.device, seed=args.seed, progress=not args.quiet, train_split=args.train_split,
                   val_split=args.val_split, workers=args.workers, resume=args.resume,
                   init=args.init)
    last = report["history"][-1] if report["history"] else {}
    print(f"trained {report['train_positions_seen']} positions in {report['seconds']:.1f} s "
          f"({report['positions_per_second']:.0f} positions/s); last epoch: "
          + ", ".join(f"{k} {v:.4f}" for k, v in last.items() if k.startswith(("train_", "val_"))))
    print(f"checkpoints in {out} (best.pt, last.pt)")
    _write_json(args.json, report)
    return 0


def _run_eval(args) -> int:
    from filterkit.nn.train import seed_everything

    from filterkit.apps.go.pipeline import baselines, evaluate, load_model, load_positions

    seed_everything(args.seed)
    model, config = load_model(args.checkpoint)
    positions = load_positions(args.data, args.split, config["size"], progress=not args.quiet)
    report = evaluate(model, config, positions, args.symmetries, args.batch_size, args.seed, not args.quiet)
    report["baselines"] = baselines(positions, config.get("move_counts"), args.seed)
    report["checkpoint"] = str(args.checkpoint)
    report["split"] = args.split
    print(f"{args.split}: {report['positions']} positions from {report['games']} games")
    rows = [("model", report)] + list(report["baselines"].items())
    print(f"{'predictor':<22}{'top1':>20}{'top5':>20}{'nll':>22}")
    for name, r in rows:
        cells = [f"{r[k]:.4f} [{r[k + '_ci95'][0]:.3f},{r[k + '_ci95'][1]:.3f}]" for k in ("top1", "top5", "nll")]
        print(f"{name:<22}" + "".join(f"{c:>22}" for c in cells))
    _write_json(args.json, report)
    return 0


def _run_gtp(args) -> int:
    from filterkit import __version__

    from filterkit.apps.go.engine import gtp_handlers
    from filterkit.apps.go.gtp import GtpServer

    player, config = _player(args)
    size = args.size or config["size"]
    try:
        handlers = gtp_handlers(player, size, args.komi, args.superko)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    GtpServer(handlers, "filterkit-go", __version__).serve(sys.stdin, sys.stdout)
    return 0


def _run_match(args) -> int:
    from filterkit.nn.train import seed_everything

    from filterkit.apps.go.gtp import GtpError
    from filterkit.apps.go.match import play_match

    sgf_dir = Path(args.sgf_dir)
    if sgf_dir.exists() and any(sgf_dir.iterdir()) and not args.force:
        raise UserError(f"{sgf_dir}: SGF folder is not empty (use --force or another --sgf-dir)")
    if args.games < 1:
        raise UserError("--games must be at least 1")
    seed_everything(args.seed)
    player, config = _player(args)
    size = args.size or config["size"]
    try:
        report = play_match(player, args.opponent, args.games, sgf_dir, size, args.komi, args.max_moves,
                            progress=not args.quiet)
    except FileNotFoundError as exc:
        raise UserError(str(exc)) from None
    except GtpError as exc:
        raise UserError(f"opponent {args.opponent!r}: {exc}") from None
    report["model"] = str(args.model)
    report["player"] = {"symmetries": args.symmetries, "resign_margin": args.resign_margin,
                        "pass_threshold": args.pass_threshold, "self_atari": args.self_atari,
                        "play_out": args.play_out, "tactics": args.tactics}
    print(f"{report['wins']}/{report['games']} wins vs {args.opponent} "
          f"(95% Wilson [{report['wilson_low']:.3f}, {report['wilson_high']:.3f}]), "
          f"{report['illegal_moves']} illegal moves; games in {sgf_dir}"
          + (f"; {report['void_games']} void game(s) replayed (the opponent's engine died)" if report["void_games"] else ""))
    _write_json(args.json, report)
    return 0


def run(args) -> int:
    return {"prepare": _run_prepare, "train": _run_train, "eval": _run_eval, "gtp": _run_gtp,
            "match": _run_match}[args.go_command](args)
