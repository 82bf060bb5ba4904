"""The policy network: a plain stack of convolutions from board planes to move logits.

``PolicyNet(in_planes, size, layers, width)`` follows AlphaGo's SL policy
network (Silver et al. 2016): a 5x5 convolution, ``layers - 2`` 3x3
convolutions (all ``width`` channels, ReLU, 'same' padding, no pooling), a
1x1 convolution to one plane plus a per-point bias -> ``size*size`` logits.
``pass_move=True`` adds a pass logit computed from the globally averaged last
hidden features.  AlphaGo's network is ``layers=13, width=192``; the CPU
default here is ``layers=6, width=64``.  ``batch_norm`` adds BatchNorm after
each hidden convolution (faster training on CPU; off for the paper's net).

The convolutions accept any board size; the per-point bias is only added
on the size the net was built for.

``heads=True`` adds the two evaluation heads of :mod:`.ownership` on the
same trunk: an **ownership** head (dilated 3x3 convolutions reaching across
the board, then one logit per point: will the player to move own this point
at the end of the game?) and a **score** head (the ownership head's features
pooled, two linear layers: the final area margin, in points, of the player to
move before komi).  :meth:`PolicyNet.evaluate` returns all three outputs;
``forward`` returns the move logits unless ``outputs = "all"``.

Illegal moves are masked: ``forward(planes, legal)`` with ``legal`` ``(B, n)``
bool sets their logits to a large negative number (pass is always legal).

:func:`build` makes the net a :class:`~filterkit.apps.go.config.GoConfig`
describes; :func:`load` reads it back from a ``filterkit go train`` checkpoint.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from filterkit.errors import UserError
from filterkit.nn.train import read_checkpoint

from filterkit.apps.go.config import GoConfig
from filterkit.apps.go.features import n_planes, symmetry_permutations

APP = "go"  # the app name stored in (and required of) checkpoints
MASKED = -1e9
HEAD_WIDTH = 32  # channels of the ownership head's dilated convolutions
SCORE_SCALE = 20.0  # the score head's output unit, in points (keeps its last layer near unit scale)


class PolicyNet(nn.Module):
    """Board planes ``(B, C, size, size)`` -> move logits ``(B, size*size [+ 1])``."""

    def __init__(self, in_planes: int, size: int = 19, layers: int = 6, width: int = 64,
                 pass_move: bool = True, batch_norm: bool = True, heads: bool = False) -> None:
        super().__init__()
        if layers < 2:
            raise ValueError(f"layers must be at least 2 (a 5x5 and the 1x1 output), got {layers}")
        self.size, self.pass_move = size, pass_move
        blocks: list[nn.Module] = []
        channels = in_planes
        for i in range(layers - 1):
            k = 5 if i == 0 else 3
            blocks.append(nn.Conv2d(channels, width, k, padding=k // 2, bias=not batch_norm))
            if batch_norm:
                blocks.append(nn.BatchNorm2d(width))
            blocks.append(nn.ReLU(inplace=True))
            channels = width
        self.body = nn.Sequential(*blocks)
        self.head = nn.Conv2d(width, 1, 1, bias=False)
        self.point_bias = nn.Parameter(torch.zeros(size * size))
        self.pass_head = nn.Linear(width, 1) if pass_move else None
        self.outputs = "policy"  # "all": forward returns evaluate()'s triple (training the heads)
        self.frozen_trunk = False  # train only the heads: the trunk and policy stay in eval mode
        self.own_body = self.own_head = self.score_head = None
        if heads:
            self.own_body = nn.Sequential(*[
                layer for dilation in (1, 2, 4, 8) for layer in (
                    nn.Conv2d(width if dilation == 1 else HEAD_WIDTH, HEAD_WIDTH, 3, padding=dilation,
                              dilation=dilation, bias=False),
                    nn.BatchNorm2d(HEAD_WIDTH), nn.ReLU(inplace=True))])
            self.own_head = nn.Conv2d(HEAD_WIDTH, 1, 1)
            self.score_head = nn.Sequential(nn.Linear(2 * HEAD_WIDTH, 64), nn.ReLU(inplace=True), nn.Linear(64, 1))

    @property
    def has_heads(self) -> bool:
        return self.own_head is not None

    def trunk_parameters(self) -> list[nn.Parameter]:
        """The parameters of the trunk and the policy output (frozen by ``freeze_trunk``)."""
        heads = set()
        if self.has_heads:
            heads = {id(p) for m in (self.own_body, self.own_head, self.score_head) for p in m.parameters()}
        return [p for p in self.parameters() if id(p) not in heads]

    def freeze_trunk(self) -> None:
        """Train only the evaluation heads: the move predictions stay exactly as they are."""
        self.frozen_trunk = True
        for p in self.trunk_parameters():
            p.requires_grad_(False)

    def train(self, mode: bool = True) -> "PolicyNet":
        super().train(mode)
        if self.frozen_trunk:  # BatchNorm statistics of the trunk must not move either
            self.body.eval()
        return self

    def forward(self, planes: torch.Tensor, legal: torch.Tensor | None = None):
        if self.outputs == "all":
            return self.evaluate(planes, legal)
        return self._policy(self.body(planes), legal)

    def evaluate(self, planes: torch.Tensor, legal: torch.Tensor | None = None):
        """``(move logits (B, n [+1]), ownership logits (B, n), score (B,))`` of the player to move."""
        if not self.has_heads:
            raise ValueError("this network has no ownership/score heads (train it with --heads)")
        if self.frozen_trunk:
            with torch.no_grad():
                h = self.body(planes)
        else:
            h = self.body(planes)
        g = self.own_body(h)
        own = self.own_head(g).flatten(1)
        pooled = torch.cat([g.mean(dim=(2, 3)), g.amax(dim=(2, 3))], dim=1)
        score = self.score_head(pooled).squeeze(1) * SCORE_SCALE
        return self._policy(h, legal), own, score

    def _policy(self, h: torch.Tensor, legal: torch.Tensor | None) -> torch.Tensor:
        logits = self.head(h).flatten(1)
        if logits.shape[1] == self.point_bias.numel():  # other board sizes: fully convolutional, no bias
            logits = logits + self.point_bias
        if self.pass_head is not None:
            logits = torch.cat([logits, self.pass_head(h.mean(dim=(2, 3)))], dim=1)
        if legal is not None:
            mask = legal
            if self.pass_head is not None:
                mask = torch.cat([legal, torch.ones_like(legal[:, :1])], dim=1)
            logits = logits.masked_fill(~mask, MASKED)
        return logits


def symmetric_logits(model: nn.Module, planes: torch.Tensor, legal: torch.Tensor, symmetries: int = 1) -> torch.Tensor:
    """Log-probabilities averaged over the first ``symmetries`` (1 or 8) board symmetries.

    Each transformed board is evaluated and its log-softmax mapped back to
    the original points before averaging the probabilities.
    """
    if symmetries == 1:
        return torch.log_softmax(model(planes, legal), dim=1)
    size = planes.shape[-1]
    n = size * size
    b, c = planes.shape[:2]
    perms = torch.from_numpy(symmetry_permutations(size)).to(planes.device)
    flat, lflat = planes.reshape(b, c, n), legal
    probs = None
    for k in range(symmetries):
        perm = perms[k]
        logp = torch.log_softmax(model(flat[:, :, perm].reshape(b, c, size, size), lflat[:, perm]), dim=1)
        back = torch.empty_like(logp)
        back[:, perm] = logp[:, :n]  # new point j came from old point perm[j]
        if logp.shape[1] > n:
            back[:, n:] = logp[:, n:]
        probs = back.exp() if probs is None else probs + back.exp()
    return torch.log(probs / symmetries)


def build(config: GoConfig) -> PolicyNet:
    """The (untrained) network ``config`` describes."""
    return PolicyNet(n_planes(config.features), config.size, config.layers, config.width,
                     pass_move=config.pass_move, batch_norm=config.batch_norm, heads=config.heads)


def load(path: str | Path) -> tuple[PolicyNet, GoConfig]:
    """``(model in eval mode on the CPU, config)`` from a ``filterkit go train`` checkpoint.

    :class:`UserError` naming the file when it is not a go checkpoint, has no
    usable config, or holds weights that do not fit the config's network.
    """
    ckpt = read_checkpoint(path, expected_app=APP)
    data = ckpt.get("config")
    if not isinstance(data, dict) or not data:
        raise UserError(f"{path}: checkpoint holds no go config (write it with 'filterkit go train')")
    try:
        config = GoConfig.from_dict(data)
        model = build(config)
        model.load_state_dict(ckpt["model"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{path}: checkpoint does not hold a usable go network ({reason})") from None
    model.eval()
    return model, config
