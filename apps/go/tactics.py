"""Tactical reading for the policy player: groups in atari and ladders.

A policy network at this size plays good shape but misreads the simplest
fights: it runs out of atari into ladders that work, leaves big groups in
atari and misses captures.  These functions read just those sequences:

* :func:`dies_in_ladder` - whether a group with 1 or 2 liberties is captured
  when the attacker keeps giving atari and the defender keeps extending (or
  captures an attacking group in atari): the classic ladder reader, with a node budget;
* :func:`urgent_moves` - saving our groups in atari (only escapes that
  work) and capturing enemy groups in atari or in a working ladder, each with
  the number of stones at stake;
* :func:`runs_into_ladder` - whether a move leaves its own group of two or
  more stones with at most 2 liberties in a ladder that works.

Every read plays moves on :meth:`Board.clone` copies, so the board passed in
is never changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from filterkit.apps.go.board import EMPTY, Board, opponent

MAX_NODES = 300  # positions read per question; beyond this the group is taken to live


@dataclass
class _Budget:
    nodes: int = MAX_NODES

    def spend(self) -> bool:
        self.nodes -= 1
        return self.nodes >= 0


def _adjacent_enemy_groups(board: Board, point: int) -> list:
    """The distinct enemy groups touching the group at ``point``."""
    group = board.groups[point]
    enemy = opponent(group.color)
    found, seen = [], set()
    for s in group.stones:
        for q in board._nbrs[s]:
            h = board.groups[q]
            if h is not None and h.color == enemy and id(h) not in seen:
                seen.add(id(h))
                found.append(h)
    return found


def _escapes(board: Board, point: int) -> list[int]:
    """Moves that may save the group at ``point``: capturing a neighbouring group in atari, then extending."""
    moves = [next(iter(h.liberties)) for h in _adjacent_enemy_groups(board, point) if len(h.liberties) == 1]
    moves += sorted(board.groups[point].liberties)
    return list(dict.fromkeys(moves))


def _defender_dies(board: Board, point: int, budget: _Budget) -> bool:
    """Group at ``point`` has 1 liberty and its owner moves: True if every escape fails."""
    color = board.groups[point].color
    for move in _escapes(board, point):
        if not budget.spend():
            return False
        if not board.is_legal(move, color):
            continue
        after = board.clone()
        after.play(move, color)
        libs = len(after.groups[point].liberties)
        if libs >= 3 or (libs == 2 and not _attacker_wins(after, point, budget)):
            return False
    return True


def _attacker_wins(board: Board, point: int, budget: _Budget) -> bool:
    """Group at ``point`` has 2 liberties and the attacker moves: True if an atari leads to its capture."""
    group = board.groups[point]
    attacker = opponent(group.color)
    for move in sorted(group.liberties):
        if not budget.spend():
            return False
        if not board.is_legal(move, attacker):
            continue
        after = board.clone()
        after.play(move, attacker)
        if after.groups[point] is None:
            return True
        if len(after.groups[point].liberties) == 1 and _defender_dies(after, point, budget):
            return True
    return False


def dies_in_ladder(board: Board, point: int, defender_to_move: bool) -> bool:
    """Whether the group at ``point`` is captured by a ladder.

    ``defender_to_move``: its owner moves next (the group must then have 1
    liberty), else the attacker does (1 or 2 liberties).  A group with 3 or
    more liberties, or a read that exceeds :data:`MAX_NODES`, counts as alive.
    """
    group = board.groups[point]
    if group is None:
        raise ValueError("dies_in_ladder: no stone at that point")
    libs = len(group.liberties)
    budget = _Budget()
    if defender_to_move:
        return libs == 1 and _defender_dies(board, point, budget)
    if libs == 1:
        return True  # the attacker simply captures
    return libs == 2 and _attacker_wins(board, point, budget)


def urgent_moves(board: Board, color: int) -> list[tuple[int, int]]:
    """``(stones at stake, move)`` for ``color`` to move, largest stake first.

    Saving moves for each of our groups in atari whose escape works, and
    capturing moves for each enemy group in atari or dying in a ladder
    (the atari that starts the ladder).
    """
    found: dict[int, int] = {}
    seen = set()
    for point in range(board.n):
        group = board.groups[point]
        if group is None or id(group) in seen:
            continue
        seen.add(id(group))
        size, libs = len(group.stones), len(group.liberties)
        if group.color == color and libs == 1:
            for move in _escapes(board, point):
                if not board.is_legal(move, color):
                    continue
                after = board.clone()
                after.play(move, color)
                left = len(after.groups[point].liberties)
                if left >= 3 or (left == 2 and not dies_in_ladder(after, point, defender_to_move=False)):
                    found[move] = max(found.get(move, 0), size)
        elif group.color != color and libs == 1:
            move = next(iter(group.liberties))
            if board.is_legal(move, color):
                found[move] = max(found.get(move, 0), size)
        elif group.color != color and libs == 2 and size >= 2:
            for move in sorted(group.liberties):
                if not board.is_legal(move, color):
                    continue
                after = board.clone()
                after.play(move, color)
                if after.groups[point] is not None and len(after.groups[point].liberties) == 1 \
                        and dies_in_ladder(after, point, defender_to_move=True):
                    found[move] = max(found.get(move, 0), size)
                    break
    return sorted(((stake, move) for move, stake in found.items()), reverse=True)


def runs_into_ladder(board: Board, move: int, color: int) -> bool:
    """Whether ``color`` playing ``move`` leaves a group of 2+ stones with 1-2 liberties that a ladder captures."""
    if board.stones[move] != EMPTY or not board.is_legal(move, color):
        return False
    after = board.clone()
    after.play(move, color)
    group = after.groups[move]
    if len(group.stones) < 2 or len(group.liberties) > 2:
        return False
    return dies_in_ladder(after, move, defender_to_move=False)
