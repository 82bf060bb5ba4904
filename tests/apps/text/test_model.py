"""Kim CNN: shapes, filters sliding only along the sentence, variants, max-norm, OOV training."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from filterkit.apps.text.batching import BucketBatchSampler, PadCollate
from filterkit.apps.text.model import KimCNN, max_norm_


def _model(variant="non-static", **kw):
    torch.manual_seed(0)
    matrix = np.random.default_rng(0).normal(size=(30, 8)).astype(np.float32)
    matrix[0] = 0
    return KimCNN(matrix, 3, variant=variant, widths=(2, 3), maps=4, **kw)


def test_shapes_and_filters_span_the_embedding():
    model = _model().eval()
    ids = torch.randint(2, 30, (5, 7))
    assert model(ids).shape == (5, 3)
    maps = model.feature_maps(ids)
    assert [m.shape for m in maps] == [(5, 4, 6), (5, 4, 5)]  # one value per position: L - w + 1
    assert [tuple(c.weight.shape) for c in model.convs] == [(4, 8, 2), (4, 8, 3)]  # full embedding width
    pooled, positions = model.pooled(ids)
    assert pooled.shape == positions.shape == (5, 8)
    torch.testing.assert_close(pooled[:, :4], maps[0].amax(dim=2))


def test_filters_slide_only_along_the_sentence():
    model = _model().eval()
    ids = torch.randint(2, 30, (1, 6))
    shifted = torch.cat([torch.tensor([[0, 0]]), ids], dim=1)  # the same sentence two positions later
    a, b = model.feature_maps(ids)[1], model.feature_maps(shifted)[1]
    torch.testing.assert_close(b[..., 2:], a)  # translation along the sentence shifts the map
    # permuting embedding dimensions changes the output: filters see the whole vector, not a sliding window
    with torch.no_grad():
        model.tuned.weight.copy_(model.tuned.weight.roll(1, dims=1))
    assert not torch.allclose(model.feature_maps(ids)[1], a)


def test_too_short_input_is_rejected():
    with pytest.raises(ValueError, match="at least 3"):
        _model()(torch.ones((1, 2), dtype=torch.long))


def test_variants_train_the_right_tables():
    trainable = lambda m: {n for n, p in m.named_parameters() if p.requires_grad and "weight" in n and "emb" not in n}
    assert "tuned.weight" in trainable(_model("rand"))
    static = _model("static")
    assert static.tuned is None and not static.frozen.weight.requires_grad
    multi = _model("multichannel")
    assert multi.convs[0].weight.shape[1] == 16 and not multi.frozen.weight.requires_grad
    assert multi.tuned.weight.requires_grad


def test_train_oov_updates_only_rows_without_pretrained_vectors():
    found = np.ones(30, dtype=bool)
    found[[1, 7]] = False
    model = _model("static", train_oov=True, pretrained_rows=found)
    model(torch.tensor([[3, 7, 1, 5]])).sum().backward()
    grad = model.frozen.weight.grad
    assert grad[[1, 7]].abs().sum() > 0
    assert grad[[3, 5]].abs().sum() == 0


def test_max_norm_caps_each_class_vector():
    model = _model()
    with torch.no_grad():
        model.out.weight.copy_(torch.arange(24, dtype=torch.float32).reshape(3, 8) / 10)
    small = model.out.weight[0].clone()
    max_norm_(model, 3.0)
    norms = model.out.weight.detach().norm(dim=1)
    assert torch.all(norms <= 3.0 + 1e-5) and norms[2] == pytest.approx(3.0)
    torch.testing.assert_close(model.out.weight[0], small)  # under the limit: untouched (norm 1.18)


def test_bucketing_groups_lengths_and_pads_to_widest_filter():
    lengths = [1, 9, 2, 8, 3, 7, 4, 6] * 10
    batches = list(BucketBatchSampler(lengths, 8, seed=0, pool=10))
    assert sorted(i for b in batches for i in b) == list(range(80))
    spread = [max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches]
    assert max(spread) <= 1  # whole pool sorted: batches of equal-ish length
    ids, labels = PadCollate(min_length=5, edge=2)([([4], 0), ([5, 6], 1)])
    assert ids.tolist() == [[0, 0, 4, 0, 0, 0], [0, 0, 5, 6, 0, 0]] and labels.tolist() == [0, 1]
    ids, _ = PadCollate(min_length=5, edge=0)([([4], 0)])
    assert ids.tolist() == [[4, 0, 0, 0, 0]]
