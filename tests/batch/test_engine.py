"""filterkit.batch: op names from the registry, the filter call, planning and stale temporaries."""

from __future__ import annotations

import numpy as np
import pytest

from filterkit.batch import BATCH_OPS, FilterSpec, filter_array, make_plan, parse_op, remove_stale_outputs
from filterkit.batch.spec import op_call
from filterkit.errors import UserError
from filterkit.filters import ndimage
from filterkit.filters.ops import GRADIENTS, NAMES
from filterkit.io import write_image


def test_ops_come_from_the_registry():
    assert set(NAMES) <= set(BATCH_OPS)
    assert set(BATCH_OPS) - set(NAMES) == {f"{g}-{a}" for g in GRADIENTS for a in "xy"}
    assert parse_op("Box") == "mean" and parse_op("laplacian") == "laplace" and parse_op("SOBEL_Y") == "sobel-y"
    with pytest.raises(ValueError, match="unknown op 'blurry'"):
        parse_op("blurry")


@pytest.mark.parametrize("op, call", [("median", ("median", {"size": 3})), ("gaussian", ("gaussian", {"sigma": 1.0})),
                                      ("scharr-x", ("scharr", {"axis": 1})), ("laplace", ("laplace", {}))])
def test_op_call(op, call):
    assert op_call(FilterSpec(op=op)) == call


def test_filter_array_keeps_alpha_and_equals_the_numpy_api():
    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, (12, 13, 4), dtype=np.uint8)
    out = filter_array(rgba, FilterSpec(op="median", size=3))
    np.testing.assert_array_equal(out[..., 3], rgba[..., 3])
    np.testing.assert_array_equal(out[..., :3], ndimage.median(np.ascontiguousarray(rgba[..., :3]), size=3,
                                                               channel_axis=-1))


def test_plan_skips_existing_and_refuses_image_names_and_the_input_folder(tmp_path):
    write_image(tmp_path / "in" / "a.png", np.zeros((4, 4), np.uint8))
    write_image(tmp_path / "in" / "b.png", np.zeros((4, 4), np.uint8))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.png").write_bytes(b"x")
    plan = make_plan([str(tmp_path / "in")], tmp_path / "out")
    assert plan.skipped == [tmp_path / "out" / "a.png"] and [d.name for _, d in plan.todo] == ["b.png"]
    assert len(make_plan([str(tmp_path / "in")], tmp_path / "out", force=True).todo) == 2
    with pytest.raises(UserError, match="looks like an image file name"):
        make_plan([str(tmp_path / "in")], tmp_path / "result.png")
    with pytest.raises(UserError, match="the output folder is the input folder"):
        make_plan([str(tmp_path / "in")], tmp_path / "in")


def test_remove_stale_outputs_walks_the_tree_and_keeps_other_files(tmp_path):
    keep = [tmp_path / "a.png", tmp_path / "sub" / "b.png", tmp_path / ".hidden.png"]
    drop = [tmp_path / ".a.x1.part.png", tmp_path / "sub" / ".b.y2.part.tif"]
    for p in keep + drop:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")
    assert remove_stale_outputs(tmp_path) == 2
    assert all(p.exists() for p in keep) and not any(p.exists() for p in drop)
    assert remove_stale_outputs(tmp_path / "absent") == 0
