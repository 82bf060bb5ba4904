"""Play the policy player against any GTP engine and score the games.

The match keeps its own referee :class:`~filterkit.apps.go.board.Board`:
every move of either side is checked on it before it is sent on, so the
player never sends an illegal move (a move the opponent still refuses is
counted in ``illegal_moves`` and loses that game).  Colours alternate (game
0: the player has Black).  A game ends by resignation, two passes, or the
move limit; finished games are scored by the opponent's ``final_score``
when it answers (GNU Go removes dead stones), else by the referee's area
score.  Every game is saved as SGF in ``out_dir``.  The report gives the
win rate with its Wilson interval, the Elo difference it implies with the
interval mapped from Wilson's (:func:`~filterkit.apps.go.stats.elo_interval`),
the mean final margin of the games scored by counting, and the longest
time our player took over one move.

If the opponent's process dies during a game (GNU Go 3.8 aborts on a few
positions), that game is **void**: saved with result ``Void``, counted in
``void_games`` but not in the score, and the engine is restarted; the match
goes on until ``games`` games are scored (at most ``games`` voids).  An engine
that dies before its first answer, answers nothing within ``timeout`` seconds,
or breaks the protocol (:class:`~filterkit.apps.go.gtp.EngineError`) ends the
match with that error, and so does a match in which no game could be scored.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from tqdm import tqdm

from filterkit.io import atomic_write_bytes

from filterkit.apps.go import records
from filterkit.apps.go.board import BLACK, WHITE, Board, opponent
from filterkit.apps.go.coords import from_gtp, to_gtp
from filterkit.apps.go.engine import RESIGN
from filterkit.apps.go.gtp import EngineError, EngineExited, GtpClient, GtpError
from filterkit.apps.go.records import GameRecord, to_sgf
from filterkit.apps.go.stats import elo_interval, wilson_interval

_SCORE = re.compile(r"^([BW])\+(\S+)$|^0$")


def parse_score(text: str) -> str | None:
    """A GTP ``final_score`` reply (``B+3.5``, ``W+R``, ``0``) normalised, or None if unreadable."""
    text = text.strip().upper()
    return text if _SCORE.match(text) else None


def margin_of(result: str, color: int) -> float | None:
    """The final margin of ``color`` from a counted result (``B+3.5`` -> +3.5 for Black); None if not counted."""
    match = _SCORE.match(result.strip().upper())
    if not match:
        return None
    if result.strip() == "0":
        return 0.0
    try:
        points = float(match.group(2))
    except ValueError:  # R (resignation), T (time), F (forfeit)
        return None
    return points if (match.group(1) == "B") == (color == BLACK) else -points


def winner_of(result: str) -> int | None:
    """BLACK, WHITE, or None (jigo / unknown) from a result string."""
    if result.startswith("B+"):
        return BLACK
    if result.startswith("W+"):
        return WHITE
    return None


def play_game(player, client: GtpClient, size: int, komi: float, our_color: int,
              max_moves: int) -> dict:
    """One game; returns a dict with the record, result and counters (``void`` if the engine died)."""
    board = Board(size, komi)
    try:
        return _play_game(player, client, board, our_color, max_moves)
    except EngineExited as exc:
        record = GameRecord(size=size, komi=komi, moves=list(board.moves), result="Void")
        return {"record": record, "result": "Void", "scorer": "none (the opponent's engine died)",
                "referee_area_result": None, "our_color": "black" if our_color == BLACK else "white",
                "moves": len(board.moves), "illegal_moves": 0, "opponent_illegal_moves": 0, "win": False,
                "loss": False, "void": True, "note": f"void at move {len(board.moves) + 1}: {exc}"}


def _play_game(player, client: GtpClient, board: Board, our_color: int, max_moves: int) -> dict:
    size, komi = board.size, board.komi
    for cmd in (f"boardsize {size}", f"komi {komi}", "clear_board"):
        client.send(cmd)
    illegal = opponent_illegal = 0
    names = {BLACK: "b", WHITE: "w"}
    note = ""
    think: list[float] = []  # seconds of each of our genmoves
    while not board.game_over and len(board.moves) < max_moves:
        color = board.to_play
        if color == our_color:
            start = time.perf_counter()
            point = player.genmove(board)
            think.append(time.perf_counter() - start)
            if point == RESIGN:
                board.resign(color)
                break
            if not board.is_legal(point, color):  # never happens by construction; never send it anyway
                illegal += 1
                point = board.pass_point
            try:
                client.send(f"play {names[color]} {to_gtp(point, size)}")
            except GtpError as exc:
                illegal += 1
                note = f"opponent refused {to_gtp(point, size)}: {exc}"
                board.resign(color)
                break
            board.play(point, color)
        else:
            reply = client.send(f"genmove {names[color]}").strip().lower()
            if reply == "resign":
                board.resign(color)
                break
            try:
                point = from_gtp(reply, size)
            except ValueError:
                point = -1
            if point < 0 or not board.is_legal(point, color):
                opponent_illegal += 1
                note = f"opponent played illegal move {reply!r}"
                board.resign(color)
                break
            board.play(point, color)
    scorer = "resignation"
    result = board.result()
    if board.resigned is None:
        scorer = "area (referee)"
        if board.consecutive_passes >= 2:
            try:
                theirs = parse_score(client.send("final_score"))
            except GtpError:
                theirs = None
            if theirs is not None:
                result, scorer = theirs, "opponent final_score"
        else:
            scorer = f"area (referee) at the {max_moves}-move limit"
    record = GameRecord(size=size, komi=komi, moves=list(board.moves), result=result)
    return {"record": record, "result": result, "scorer": scorer, "referee_area_result": board.result()
            if board.resigned is None else result, "our_color": "black" if our_color == BLACK else "white",
            "moves": len(board.moves), "illegal_moves": illegal, "opponent_illegal_moves": opponent_illegal,
            "win": winner_of(result) == our_color, "loss": winner_of(result) == opponent(our_color), "void": False,
            "margin": margin_of(result, our_color), "genmove_mean_seconds": sum(think) / len(think) if think else None,
            "genmove_max_seconds": max(think, default=None), "note": note}


def play_match(player, opponent_command: str, games: int, out_dir: str | Path, size: int = 19,
               komi: float = 7.5, max_moves: int | None = None, player_name: str = "filterkit-go",
               progress: bool = True, timeout: float = 60.0) -> dict:
    """Play ``games`` games against the engine started by ``opponent_command``; return the report.

    ``timeout``: seconds the opponent may take over any one reply.
    """
    records.require_sgfmill()  # games are saved as SGF: fail before playing, not after the first game
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    max_moves = max_moves or 3 * size * size
    rows, voids = [], []
    start = time.perf_counter()
    client = GtpClient(opponent_command, timeout)
    try:
        try:
            opponent_name = client.send("name") or opponent_command
        except EngineError:
            raise
        except GtpError:  # a failure reply: an engine without 'name'
            opponent_name = opponent_command
        bar = tqdm(total=games, desc="games", unit="game", disable=not progress)
        while len(rows) < games and len(voids) <= games:
            our_color = BLACK if len(rows) % 2 == 0 else WHITE
            game = play_game(player, client, size, komi, our_color, max_moves)
            black, white = (player_name, opponent_name) if our_color == BLACK else (opponent_name, player_name)
            comment = f"scored by {game['scorer']}" + (f"; {game['note']}" if game["note"] else "")
            sgf = to_sgf(game.pop("record"), black=black, white=white, comment=comment)
            path = out_dir / f"game-{len(rows) + len(voids):03d}.sgf"
            atomic_write_bytes(path, sgf)
            game["sgf"] = str(path)
            if game["void"]:
                voids.append(game)
                client.close()
                client = GtpClient(opponent_command, timeout)
                continue
            rows.append(game)
            bar.update(1)
        bar.close()
    finally:
        client.close()
    if not rows:
        raise EngineError(f"no game could be scored: the engine died in all {len(voids)} games "
                          f"({voids[-1]['note'] if voids else 'none played'})")
    wins = sum(g["win"] for g in rows)
    losses = sum(g["loss"] for g in rows)
    draws = len(rows) - wins - losses
    low, high = wilson_interval(wins + 0.5 * draws, len(rows))
    elo, elo_low, elo_high = elo_interval(wins + 0.5 * draws, len(rows))
    margins = [g["margin"] for g in rows if g["margin"] is not None]
    return {"games": len(rows), "wins": wins, "losses": losses, "draws": draws,
            "win_rate": (wins + 0.5 * draws) / len(rows) if rows else None,
            "wilson_low": low, "wilson_high": high, "elo": elo, "elo_low": elo_low, "elo_high": elo_high,
            "counted_games": len(margins), "mean_margin": sum(margins) / len(margins) if margins else None,
            "resigned_by_us": sum(g["scorer"] == "resignation" and g["loss"] for g in rows),
            "resigned_by_opponent": sum(g["scorer"] == "resignation" and g["win"] for g in rows),
            "genmove_max_seconds": max((g["genmove_max_seconds"] or 0.0 for g in rows), default=None),
            "illegal_moves": sum(g["illegal_moves"] for g in rows),
            "opponent_illegal_moves": sum(g["opponent_illegal_moves"] for g in rows),
            "opponent": opponent_command, "size": size, "komi": komi, "seconds": time.perf_counter() - start,
            "void_games": len(voids), "void_notes": [g["note"] for g in voids], "per_game": rows}
