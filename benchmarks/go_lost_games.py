"""Why the go player loses: replay the games of a ``filterkit go match`` and measure, for won and lost games alike.

For every move our player made it checks:

* **train/serve parity**: the packed planes, colour to move and ko point
  that the player built from its board equal those that ``go prepare``
  (:func:`filterkit.apps.go.data.encode_game`) stores for the same position;
* **overrides**: how often the move sent differs from the network's own
  favourite (the pass rule, the own-eye and self-atari filters);
* **tactics by phase**: positions where a group of 3+ stones could be saved
  or captured (:func:`filterkit.apps.go.tactics.urgent_moves`) and the move
  played was not such a move, per third of the game: does play get worse
  once few moves remain?
* **the end**: our stones that GNU Go's ``final_status_list dead`` declares
  dead in the final position, and games where counting every stone alive
  gives the game to us while GNU Go's ``final_score`` gives it away.

Usage::

    filterkit go match --playouts 0 --opponent "gnugo --mode gtp --level 1" --games 20 \\
        --sgf-dir m-policy --json m-policy.json
    python benchmarks/go_lost_games.py m-policy.json --json look.json

Figures: apps/go/README.md ("Look first").
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

PHASES = ("first third", "middle third", "last third")


def analyse_game(path: Path, our_color: int, player, client) -> dict:
    import numpy as np

    from filterkit.apps.go import tactics
    from filterkit.apps.go.board import BLACK
    from filterkit.apps.go.data import encode_game
    from filterkit.apps.go.engine import is_own_eye, self_atari_stones
    from filterkit.apps.go.features import encode_board
    from filterkit.apps.go.ownership import dead_stones
    from filterkit.apps.go.records import parse_sgf

    record = parse_sgf(path.read_bytes(), str(path))
    packed, to_play, ko, _ = encode_game(record)
    board = record.board()
    total = len(record.moves)
    out = {"moves": total, "ours": 0, "parity_mismatches": 0, "overrides": 0, "override_pass": 0,
           "override_eye": 0, "override_top_pass": 0, "override_self_atari": 0, "urgent": [0, 0, 0], "missed": [0, 0, 0],
           "ours_by_phase": [0, 0, 0]}
    for i, (color, point) in enumerate(record.moves):
        if color == our_color:
            out["ours"] += 1
            same = (np.array_equal(encode_board(board), packed[i]) and to_play[i] == board.to_play == color
                    and ko[i] == (board.ko if board.ko is not None else -1))
            out["parity_mismatches"] += not same
            top = int(np.argmax(player.move_log_probs(board)))
            if top != point:
                out["overrides"] += 1
                if point == board.pass_point:
                    out["override_pass"] += 1
                elif top == board.pass_point:
                    out["override_top_pass"] += 1
                elif top != board.pass_point and is_own_eye(board, top, color):
                    out["override_eye"] += 1
                elif top != board.pass_point and self_atari_stones(board, top, color) >= 2:
                    out["override_self_atari"] += 1
            phase = min(3 * i // max(total, 1), 2)
            out["ours_by_phase"][phase] += 1
            urgent = [(stake, move) for stake, move in tactics.urgent_moves(board, color) if stake >= 3]
            if urgent:
                out["urgent"][phase] += 1
                out["missed"][phase] += point not in {move for _, move in urgent}
        board.play(point, color)
    dead = dead_stones(client, record)
    out["our_dead_stones"] = int(sum(board.stones[p] == our_color for p in dead))
    alive_score = board.score() if our_color == BLACK else -board.score()
    out["alive_count_says_won"] = bool(alive_score > 0)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("match", type=Path, help="the --json report of 'filterkit go match' (SGF paths inside)")
    parser.add_argument("--model", default=None, help="the network that played (default: the bundled go model)")
    parser.add_argument("--gnugo", default="gnugo --mode gtp --level 1", help="GNU Go command for dead stones")
    parser.add_argument("--json", metavar="PATH", help="write the figures as JSON")
    args = parser.parse_args(argv)

    import torch

    from filterkit.io import write_report
    from filterkit.models import resolve

    from filterkit.apps.go.board import BLACK, WHITE
    from filterkit.apps.go.engine import PolicyPlayer
    from filterkit.apps.go.gtp import GtpClient
    from filterkit.apps.go.model import load

    torch.set_num_threads(1)
    report = json.loads(args.match.read_text())
    model, config = load(resolve(args.model, "go"))
    player = PolicyPlayer(model, config)
    groups: dict[str, list[dict]] = {"lost": [], "won": []}
    with GtpClient(args.gnugo, 60.0) as client:
        for game in report["per_game"]:
            if game["void"] or not (game["win"] or game["loss"]):
                continue
            color = BLACK if game["our_color"] == "black" else WHITE
            row = analyse_game(Path(game["sgf"]), color, player, client)
            row.update(margin=game.get("margin"), scorer=game["scorer"], sgf=game["sgf"])
            groups["lost" if game["loss"] else "won"].append(row)

    summary = {}
    print(f"{'':<46}{'lost':>14}{'won':>14}")
    for name, rows in groups.items():
        ours = sum(r["ours"] for r in rows) or 1
        s = {"games": len(rows), "our_moves": sum(r["ours"] for r in rows),
             "parity_mismatches": sum(r["parity_mismatches"] for r in rows),
             "override_rate": sum(r["overrides"] for r in rows) / ours,
             "override_pass": sum(r["override_pass"] for r in rows),
             "override_eye": sum(r["override_eye"] for r in rows),
             "override_top_pass": sum(r["override_top_pass"] for r in rows),
             "override_self_atari": sum(r["override_self_atari"] for r in rows),
             "counted": sum(r["margin"] is not None for r in rows),
             "mean_margin": (sum(r["margin"] for r in rows if r["margin"] is not None)
                             / max(sum(r["margin"] is not None for r in rows), 1)),
             "our_dead_stones_per_game": sum(r["our_dead_stones"] for r in rows) / max(len(rows), 1),
             "alive_count_says_won": sum(r["alive_count_says_won"] and r["margin"] is not None for r in rows)}
        for k, phase in enumerate(PHASES):
            urgent = sum(r["urgent"][k] for r in rows)
            s[f"urgent_{k}"] = urgent / max(sum(r["ours_by_phase"][k] for r in rows), 1)
            s[f"missed_{k}"] = sum(r["missed"][k] for r in rows) / max(urgent, 1)
        summary[name] = s
    lines = [("games", "games", "{:.0f}"), ("our moves", "our_moves", "{:.0f}"),
             ("planes/colour/ko differing from training", "parity_mismatches", "{:.0f}"),
             ("moves that are not the net's favourite", "override_rate", "{:.1%}"),
             ("  of which we passed", "override_pass", "{:.0f}"),
             ("  of which the net wanted to pass (p < 0.5)", "override_top_pass", "{:.0f}"),
             ("  of which the net wanted to fill an eye", "override_eye", "{:.0f}"),
             ("  of which the net wanted a self-atari", "override_self_atari", "{:.0f}"),
             ("games scored by counting", "counted", "{:.0f}"), ("mean margin of those", "mean_margin", "{:+.1f}"),
             ("our dead stones at the end, per game", "our_dead_stones_per_game", "{:.1f}"),
             ("counted games the all-alive count gave us", "alive_count_says_won", "{:.0f}")]
    for k, phase in enumerate(PHASES):
        lines += [(f"{phase}: moves with 3+ stones at stake", f"urgent_{k}", "{:.1%}"),
                  (f"{phase}: ... and the move was not one of them", f"missed_{k}", "{:.1%}")]
    for label, key, fmt in lines:
        print(f"{label:<46}" + "".join(f"{fmt.format(summary[g][key]):>14}" for g in ("lost", "won")))
    if args.json:
        write_report(args.json, {"match": str(args.match), "summary": summary, "games": groups},
                     device="cpu", threads=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
