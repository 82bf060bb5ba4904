import numpy as np

from filterkit.apps.go.board import BLACK, WHITE, Board, from_ascii
from filterkit.apps.go.coords import from_gtp
from filterkit.apps.go.engine import RESIGN, PolicyPlayer, is_own_eye, self_atari_stones
from filterkit.apps.go.model import load


def player(ckpt, **kw):
    model, config = load(ckpt)
    return PolicyPlayer(model, config, **kw)


def test_own_eye_detection():
    b = from_ascii("""
        .X.X.
        XX.XX
        .....
        .....
        .....""")
    assert is_own_eye(b, 0, BLACK)  # corner eye
    assert not is_own_eye(b, 0, WHITE)
    assert not is_own_eye(b, 2, BLACK)  # C5 touches the empty C4


def test_genmove_is_legal_and_skips_own_eyes(tiny_checkpoint):
    p = player(tiny_checkpoint, pass_threshold=1.0)
    b = Board(9)
    for _ in range(40):
        point = p.genmove(b)
        assert point == b.pass_point or (b.is_legal(point) and not is_own_eye(b, point, b.to_play))
        b.play(point)
        if b.game_over:
            break
    logp = p.move_log_probs(b)
    assert logp.shape == (82,) and np.isclose(np.exp(logp).sum(), 1, atol=1e-4)


def test_passes_when_only_own_eyes_remain_and_resigns_when_hopeless(tiny_checkpoint):
    p = player(tiny_checkpoint, pass_threshold=1.0)
    rows = ["X.XXX", "XXXXX", "XXXXX", "XXX.X", "XXXXX"]
    b = from_ascii("\n".join(rows), komi=0.5)
    b.to_play = BLACK
    assert p.genmove(b) == b.pass_point
    hopeless = Board(5, komi=0.5)
    for i in range(13):
        hopeless.play(i, WHITE)  # white owns the board (moves recorded, so the game is "late")
    hopeless.to_play = BLACK
    assert p.genmove(hopeless) == RESIGN
    assert player(tiny_checkpoint, resign_margin=0).genmove(hopeless) != RESIGN


def test_passes_to_end_a_won_game(tiny_checkpoint):
    p = player(tiny_checkpoint, pass_threshold=1.0)
    b = Board(5, komi=0.5)
    b.play(from_gtp("C3", 5))
    b.play(b.pass_point)
    assert p.genmove(b) == b.pass_point  # black is ahead by area and white passed


def test_self_atari_detection():
    b = from_ascii("""
        .O...
        XO...
        XO...
        .....
        .....""")
    assert self_atari_stones(b, from_gtp("A5", 5), BLACK) == 3  # joins the pair, one liberty left (A2)
    assert self_atari_stones(b, from_gtp("A2", 5), BLACK) == 0  # three liberties after
    assert self_atari_stones(b, from_gtp("C3", 5), BLACK) == 0  # a lone stone with liberties
    b = from_ascii("""
        .X...
        XOX..
        X.X..
        .....
        .....""")
    assert self_atari_stones(b, from_gtp("B3", 5), WHITE) == 2  # B4+B3, only B2 left
    b = from_ascii("""
        .OX..
        OX...
        X....
        .....
        .....""")
    assert self_atari_stones(b, from_gtp("A5", 5), BLACK) == 0  # no liberty of its own, but captures B5


def test_genmove_skips_the_net_s_self_atari_choice(tiny_checkpoint, monkeypatch):
    model, config = load(tiny_checkpoint)
    board = from_ascii("""
        .X...
        XOX..
        X.X..
        .....
        .....""", to_play=WHITE)
    b3, e1 = from_gtp("B3", 5), from_gtp("E1", 5)
    logp = np.full(board.n + 1, -50.0)
    logp[b3], logp[e1] = -0.1, -3.0  # the "net" prefers B3, which leaves B4+B3 with one liberty
    for cap, expected in ((2, e1), (None, b3)):
        player = PolicyPlayer(model, config, max_self_atari=cap)
        monkeypatch.setattr(player, "move_log_probs", lambda b: logp)
        assert player.genmove(board) == expected


def test_play_out_passes_only_when_no_sensible_move_is_left(tiny_checkpoint, monkeypatch):
    model, config = load(tiny_checkpoint)
    board = Board(5, komi=0.5)
    board.play(from_gtp("C3", 5), BLACK)
    board.play(board.pass_point, WHITE)  # white passes; black leads on the stones-all-alive count
    logp = np.full(board.n + 1, -50.0)
    logp[board.pass_point], logp[from_gtp("D4", 5)] = -0.01, -5.0  # the "net" wants to pass too
    for play_out, expected in ((False, board.pass_point), (True, from_gtp("D4", 5))):
        player = PolicyPlayer(model, config, play_out=play_out)
        monkeypatch.setattr(player, "move_log_probs", lambda b: logp)
        assert player.genmove(board) == expected
    eyes = from_ascii("X.XXX\nXXXXX\nXXXXX\nXXX.X\nXXXXX", komi=0.5)  # only own eyes are empty
    player = PolicyPlayer(model, config, play_out=True, resign_margin=0)
    assert player.genmove(eyes) == eyes.pass_point


def test_the_player_sees_what_the_net_was_trained_on(tiny_checkpoint, monkeypatch):
    """No train/serve skew: through GTP genmove, each position's packed planes, colour and ko equal the dataset's."""
    from filterkit.apps.go import engine
    from filterkit.apps.go.coords import to_gtp
    from filterkit.apps.go.data import encode_game

    from .conftest import random_game

    record = random_game(size=9, moves=150, seed=2)  # 106 moves before a pass, 4 with a ko
    record.moves = record.moves[: [pt for _, pt in record.moves].index(81)]  # up to the first pass
    packed, to_play, ko, target = encode_game(record)
    p = player(tiny_checkpoint, pass_threshold=1.0, max_self_atari=None, resign_margin=0)  # never resigns
    handlers = engine.gtp_handlers(p, size=9, komi=record.komi)
    seen, real_decode, real_log_probs = [], engine.decode, p.move_log_probs

    def decode_spy(planes, colors, kos, size, features):  # the input move_log_probs hands to the net
        seen.append((planes[0].copy(), int(colors[0]), int(kos[0])))
        return real_decode(planes, colors, kos, size, features)

    def play_the_record(board):  # the net's real forward pass, then the record's move is forced
        real_log_probs(board)
        logp = np.full(board.n + 1, -np.inf)
        logp[target[len(seen) - 1]] = 0.0
        return logp

    monkeypatch.setattr(engine, "decode", decode_spy)
    monkeypatch.setattr(p, "move_log_probs", play_the_record)
    for i, (color, point) in enumerate(record.moves):
        reply = handlers["genmove"](["b" if color == BLACK else "w"])
        planes, c, k = seen[-1]
        assert np.array_equal(planes, packed[i]) and (c, k) == (to_play[i], ko[i]), f"move {i}"
        assert reply == to_gtp(point, 9)
    assert len(seen) == len(record.moves) > 50
    assert (ko >= 0).any(), "the game should contain a ko"
