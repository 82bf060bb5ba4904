"""summarize(): per-layer parameters and MACs against the published figures, the
output-size arithmetic, the meta tracing against a real forward, and the CLI."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from filterkit.cli import main
from filterkit.nn.summary import conv_arithmetic, summarize
from filterkit.nn.zoo import build_model, default_input, model_names


def meta_model(name: str, **kwargs) -> nn.Module:
    with torch.device("meta"):
        return build_model(name, **kwargs)


def rows_by_name(summary):
    return {row.name: row for row in summary.layers}


# --------------------------------------------------------------------------- lecture CNN


def test_lecture_cnn_per_layer_figures():
    s = summarize(build_model("lecture_cnn"), (1, 28, 28), bias_macs=False)
    rows = rows_by_name(s)
    assert [rows[n].params for n in ("conv1", "conv2", "fc1", "fc2")] == [250, 11_300, 125_100, 1_010]
    assert rows["conv1"].macs == 25 * 9 * 26 * 26 == 152_100
    assert rows["conv2"].macs == 50 * 25 * 9 * 11 * 11
    assert rows["fc1"].macs == 1250 * 100
    assert rows["relu1"].macs == rows["pool1"].macs == 0
    assert [rows[n].output_shape for n in ("conv1", "pool1", "conv2", "pool2", "flatten")] == [
        [25, 26, 26], [25, 13, 13], [50, 11, 11], [50, 5, 5], [1250]]
    assert s.total_params == s.trainable_params == 137_660
    assert s.total_macs == sum(r.macs for r in s.layers)


def test_bias_switch_adds_one_mac_per_output_value():
    model = build_model("lecture_cnn")
    with_bias = rows_by_name(summarize(model, (1, 28, 28), bias_macs=True))
    assert with_bias["conv1"].macs == 152_100 + 25 * 26 * 26
    assert with_bias["fc2"].macs == 100 * 10 + 10
    total_off = summarize(model, (1, 28, 28), bias_macs=False).total_macs
    assert summarize(model, (1, 28, 28)).total_macs - total_off == 25 * 26 * 26 + 50 * 11 * 11 + 100 + 10


def test_output_size_formula_rows():
    rows = rows_by_name(summarize(build_model("lecture_cnn"), (1, 28, 28)))
    assert rows["conv1"].kernel == "3x3/1 p0"
    assert rows["conv1"].arithmetic == "(28-3+2*0)/1+1 = 26"
    assert rows["pool1"].arithmetic == "(26-2+2*0)/2+1 = 13"
    assert rows["conv2"].arithmetic == "(13-3+2*0)/1+1 = 11"
    assert rows["pool2"].arithmetic == "(11-2+2*0)/2+1 = 5.5 -> 5"
    assert rows["fc1"].arithmetic == rows["relu1"].arithmetic == ""


@pytest.mark.parametrize(
    "args, text, out",
    [
        ((227, 11, 4, 0), "(227-11+2*0)/4+1 = 55", 55),
        ((224, 11, 4, 0), "(224-11+2*0)/4+1 = 54.25 -> 54", 54),
        ((112, 3, 2, 0, 1, True), "(112-3+2*0)/2+1 = 55.5 -> ceil 56", 56),
        ((32, 3, 1, 2, 2), "(32-5+2*2)/1+1 = 32", 32),  # dilation 2: extent 5
        ((10, 4, 1, 1.5), "(10-4+2*1.5)/1+1 = 10", 10),
    ],
)
def test_conv_arithmetic(args, text, out):
    assert conv_arithmetic(*args) == (text, out)


def test_arithmetic_matches_pytorch_for_every_zoo_conv_and_pool():
    for name in model_names():
        for row in summarize(meta_model(name), default_input(name)).layers:
            if row.arithmetic:
                assert "actual" not in row.arithmetic, (name, row)


def test_non_square_and_same_padding():
    model = nn.Sequential(nn.Conv2d(1, 2, (3, 5), stride=(1, 2), padding=(1, 0)), nn.Conv2d(2, 2, 3, padding="same"))
    rows = summarize(model, (1, 9, 20)).layers
    assert rows[0].output_shape == [2, 9, 8]
    assert rows[0].kernel == "3x5/1x2 p1x0"
    assert rows[0].arithmetic == "H: (9-3+2*1)/1+1 = 9; W: (20-5+2*0)/2+1 = 8.5 -> 8"
    assert rows[1].kernel == "3x3/1 p1"
    assert rows[1].arithmetic == "H: (9-3+2*1)/1+1 = 9; W: (8-3+2*1)/1+1 = 8"


def test_one_and_three_dimensional_layers():
    conv1d = summarize(nn.Sequential(nn.Conv1d(1, 4, 5, stride=2), nn.MaxPool1d(3)), (1, 100)).layers
    assert conv1d[0].kernel == "5/2 p0" and conv1d[0].arithmetic == "(100-5+2*0)/2+1 = 48.5 -> 48"
    assert conv1d[0].macs == 4 * 5 * 48 + 4 * 48
    assert conv1d[1].output_shape == [4, 16] and conv1d[1].arithmetic == "(48-3+2*0)/3+1 = 16"
    conv3d = summarize(nn.Conv3d(1, 2, 3, padding=1), (1, 4, 6, 8), bias_macs=False).layers[0]
    assert conv3d.arithmetic.startswith("D: (4-3+2*1)/1+1 = 4; H: ")
    assert conv3d.macs == 2 * 27 * 4 * 6 * 8


# --------------------------------------------------------------------------- LeNet-5 (LeCun 1998, Section II.B)

LENET_PAPER = {  # layer: (trainable parameters, connections)
    "c1": (156, 122_304),
    "s2": (12, 5_880),
    "c3": (1_516, 151_600),
    "s4": (32, 2_000),
    "c5": (48_120, 48_120),
    "f6": (10_164, 10_164),
}


def test_lenet5_matches_the_paper_layer_by_layer():
    s = summarize(build_model("lenet5"), (1, 32, 32), bias_macs=True)
    rows = rows_by_name(s)
    for layer, (params, connections) in LENET_PAPER.items():
        assert (rows[layer].trainable, rows[layer].macs) == (params, connections), layer
    assert [rows[n].output_shape for n in ("c1", "s2", "c3", "s4", "c5", "f6", "output")] == [
        [6, 28, 28], [6, 14, 14], [16, 10, 10], [16, 5, 5], [120, 1, 1], [84], [10]]
    assert (rows["output"].params, rows["output"].trainable) == (840, 0)  # fixed RBF codes
    assert s.trainable_params == sum(p for p, _ in LENET_PAPER.values()) == 60_000
    assert s.total_params == 60_840 and s.non_trainable_params == 840
    assert rows["s2"].arithmetic == "(28-2+2*0)/2+1 = 14"


# --------------------------------------------------------------------------- totals of every zoo model


@pytest.mark.parametrize("name", model_names())
def test_summary_totals_equal_the_model(name):
    model = meta_model(name)
    s = summarize(model, default_input(name))
    assert s.total_params == sum(p.numel() for p in model.parameters())
    assert sum(r.params for r in s.layers) == s.total_params
    assert s.macs_complete and s.trace == "empty"


def test_published_macs():
    """Well-known multiply-add counts (weights only): VGG-16 15.47 G, AlexNet (grouped) 0.72 G, GoogLeNet 1.5 G."""
    vgg = summarize(meta_model("vgg16"), (3, 224, 224), bias_macs=False)
    convs = [r for r in vgg.layers if r.type == "Conv2d"]
    assert len(convs) == 13
    assert round(vgg.total_macs / 1e9, 2) == 15.47
    alex = summarize(meta_model("alexnet_grouped"), (3, 227, 227), bias_macs=False)
    assert rows_by_name(alex)["conv1"].macs == 96 * 363 * 55 * 55
    assert rows_by_name(alex)["conv2"].macs == 256 * 48 * 25 * 27 * 27  # groups=2 halves the fan-in
    assert round(alex.total_macs / 1e9, 2) == 0.72
    assert round(summarize(meta_model("googlenet"), (3, 224, 224), bias_macs=False).total_macs / 1e9, 1) == 1.6


# --------------------------------------------------------------------------- GoogLeNet, Szegedy et al. 2014, Table 1
#
# Table 1 counts weights only (no biases) with K = 1024 for parameters and
# M = 10^6 for ops (multiply-adds).  Checked against the layer widths of the
# same table:
# * params consistent (within the table's rounding, 1 K): conv 3x3 (112K),
#   3a (159K), 3b (380K), 4b (437K), linear (1000K);
# * ops consistent (within 1 M): every row except conv1 and 5a;
# * not consistent: conv1 (table 2.7K / 34M, but 7x7x3x64 = 9,408 weights,
#   118M ops; 2.7K x 112 x 112 = 34M, so the two columns agree with each other,
#   not with the layer), 4a (366.75K vs 364K), 4c (497.5K vs 463K), 4d
#   (590.5K vs 580K), 4e (847K vs 840K), 5a (1018K vs 1072K, and 51M vs 54M:
#   1072K x 49 = 54M), 5b (1409K vs 1388K).

TABLE1 = {  # rows of Table 1 -> (params in K, ops in M)
    "conv1": (2.7, 34),
    "conv2": (112, 360),
    "inception3a": (159, 128),
    "inception3b": (380, 304),
    "inception4a": (364, 73),
    "inception4b": (437, 88),
    "inception4c": (463, 100),
    "inception4d": (580, 119),
    "inception4e": (840, 170),
    "inception5a": (1072, 54),
    "inception5b": (1388, 71),
    "fc": (1000, 1),
}
PARAMS_CONSISTENT = {"conv2", "inception3a", "inception3b", "inception4b", "fc"}
OPS_INCONSISTENT = {"conv1", "inception5a"}


@pytest.fixture(scope="module")
def googlenet_rows():
    model = meta_model("googlenet")
    s = summarize(model, (3, 224, 224), bias_macs=False, depth=1)
    rows = rows_by_name(s)
    # Table 1's "convolution 3x3/1, depth 2" row is the 1x1 reduce plus the 3x3
    figures = {}
    for name in TABLE1:
        parts = ["conv2_reduce", "conv2"] if name == "conv2" else [name]
        params = sum(rows[p].params for p in parts)
        biases = sum(t.numel() for p in parts for n, t in model.get_submodule(p).named_parameters()
                     if n.endswith("bias"))
        figures[name] = ((params - biases) / 1024, sum(rows[p].macs for p in parts) / 1e6)
    return figures


@pytest.mark.parametrize("row", sorted(TABLE1))
def test_googlenet_table1(row, googlenet_rows):
    params_k, ops_m = googlenet_rows[row]
    paper_k, paper_m = TABLE1[row]
    assert (abs(params_k - paper_k) <= 1.0) == (row in PARAMS_CONSISTENT), (row, params_k, paper_k)
    assert (abs(ops_m - paper_m) <= 1.0) == (row not in OPS_INCONSISTENT), (row, ops_m, paper_m)


def test_googlenet_depth_rows_and_output_sizes():
    s = summarize(meta_model("googlenet"), (3, 224, 224), depth=1)
    rows = rows_by_name(s)
    assert [rows[n].output_shape for n in ("conv1", "pool1", "pool2", "inception3b", "pool3", "pool4", "inception5b")
            ] == [[64, 112, 112], [64, 56, 56], [192, 28, 28], [480, 28, 28], [480, 14, 14], [832, 7, 7],
                  [1024, 7, 7]]
    assert rows["pool1"].arithmetic == "(112-3+2*0)/2+1 = 55.5 -> ceil 56"
    assert sum(r.params for r in s.layers) == s.total_params == 6_998_552
    leaf = summarize(meta_model("googlenet"), (3, 224, 224))
    assert leaf.total_macs == s.total_macs
    assert sum(r.macs for r in s.layers) == s.total_macs


def test_modules_not_called_are_listed_and_counted():
    model = meta_model("googlenet", aux_logits=True)
    eval_summary = summarize(model, (3, 224, 224), depth=1)
    rows = rows_by_name(eval_summary)
    assert rows["aux1"].output_shape is None and rows["aux1"].params == 3_188_840
    assert sum(r.params for r in eval_summary.layers) == eval_summary.total_params
    train_summary = summarize(model, (3, 224, 224), depth=1, train=True)
    assert rows_by_name(train_summary)["aux1"].output_shape == [1000]
    assert train_summary.total_macs > eval_summary.total_macs
    assert model.training  # the mode is restored


# --------------------------------------------------------------------------- shape-only traces vs a real forward


@pytest.mark.parametrize("name, shape", [("lecture_cnn", None), ("lenet5", None), ("allcnn_c", None),
                                         ("resnet18", (3, 64, 64)), ("googlenet", None)])
def test_shape_only_traces_equal_a_real_forward(name, shape):
    torch.manual_seed(0)
    model = build_model(name)
    meta_built = meta_model(name)
    shape = shape or default_input(name)
    for bias in (True, False):
        real = summarize(model, shape, bias_macs=bias, trace="real").to_dict()
        assert real.pop("trace") == "real"
        for traced_model, trace in ((model, "empty"), (model, "meta"), (meta_built, "empty"), (meta_built, "meta")):
            figures = summarize(traced_model, shape, bias_macs=bias, trace=trace).to_dict()
            assert figures.pop("trace") == trace
            assert figures == real, (trace, traced_model is meta_built)
    assert next(model.parameters()).device.type == "cpu"  # the models themselves are untouched
    assert next(meta_built.parameters()).device.type == "meta"


def test_failed_traces_fall_back():
    class NeedsValues(nn.Module):
        """Cannot run on meta tensors (.item()) nor on an empty batch (view(0, -1))."""

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3)

        def forward(self, x):
            y = self.conv(x).view(x.shape[0], -1)
            return y * float(y.abs().sum().item() >= 0)

    s = summarize(NeedsValues(), (1, 8, 8))
    assert s.trace == "real"
    assert s.layers[0].macs == 2 * 9 * 36 + 2 * 36
    with pytest.raises(RuntimeError):  # the real forward cannot run without weights
        summarize(NeedsValues().to("meta"), (1, 8, 8))
    with pytest.raises(RuntimeError, match="1250"):  # a genuine shape error is raised, not hidden
        summarize(build_model("lecture_cnn"), (1, 30, 30))
    with pytest.raises(ValueError, match="trace"):
        summarize(build_model("lecture_cnn"), (1, 28, 28), trace="fast")


# --------------------------------------------------------------------------- generic modules


def test_grouped_transposed_linear_and_norm_macs():
    model = nn.Sequential(
        nn.Conv2d(4, 8, 3, groups=2, bias=False),  # 8 x (2*9) weights x 6x6
        nn.BatchNorm2d(8),
        nn.ConvTranspose2d(8, 3, 2, stride=2),  # weights x input positions
        nn.Flatten(1, 2),
        nn.Linear(12, 5),  # applied to 12 rows of ... (3*12=36 rows? see below)
    )
    s = summarize(model, (4, 8, 8), bias_macs=False)
    conv, bn, deconv, flat, lin = s.layers
    assert conv.macs == 8 * 2 * 9 * 6 * 6
    assert bn.macs == 8 * 6 * 6 and bn.params == 16
    assert deconv.output_shape == [3, 12, 12] and deconv.macs == 8 * 3 * 4 * 6 * 6
    assert flat.output_shape == [36, 12]
    assert lin.macs == 36 * 12 * 5
    assert summarize(model, (4, 8, 8), bias_macs=True).total_macs == s.total_macs + 8 * 36 + 3 * 144 + 36 * 5


def test_unknown_layer_with_parameters_has_unknown_macs():
    class Scale(nn.Module):
        def __init__(self):
            super().__init__()
            self.gain = nn.Parameter(torch.ones(3))

        def forward(self, x):
            return x * self.gain[:, None, None]

    s = summarize(nn.Sequential(nn.Conv2d(3, 3, 1), Scale()), (3, 4, 4))
    assert s.layers[1].macs is None and s.layers[1].params == 3
    assert not s.macs_complete and s.total_macs == s.layers[0].macs
    assert "?" in s.table() and "lower bound" in s.table()


def test_shared_module_is_charged_once():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            return self.fc(self.fc(x))

    s = summarize(Twice(), (4,), bias_macs=False)
    assert [r.params for r in s.layers] == [20, 0]
    assert [r.macs for r in s.layers] == [16, 16]
    assert s.total_params == 20 and s.total_macs == 32


def test_frozen_parameters_are_not_trainable():
    model = build_model("lecture_cnn")
    model.conv1.requires_grad_(False)
    s = summarize(model, (1, 28, 28))
    assert s.trainable_params == 137_660 - 250
    assert rows_by_name(s)["conv1"].trainable == 0


def test_table_text_and_dict_keys():
    s = summarize(build_model("lecture_cnn"), (1, 28, 28), name="lecture_cnn")
    text = s.table()
    assert "conv1 (Conv2d)" in text and "(28-3+2*0)/1+1 = 26" in text and "Total params:         137,660" in text
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("Layer (type)"))
    conv1, conv2 = lines[header + 2], lines[header + 5]
    assert conv1.startswith("conv1") and conv2.startswith("conv2")
    assert conv1.index(" 250 ") + 4 == conv2.index(" 11,300 ") + 7  # right-aligned column
    d = s.to_dict()
    assert {"layers", "total_params", "trainable_params", "total_macs"} <= set(d)
    assert set(d["layers"][0]) >= {"name", "type", "output_shape", "params", "trainable", "macs"}


# --------------------------------------------------------------------------- CLI


def test_cli_json(tmp_path, capsys):
    out = tmp_path / "s.json"
    assert main(["summary", "lecture_cnn", "--json", str(out), "--seed", "3"]) == 0
    assert "conv1 (Conv2d)" in capsys.readouterr().out
    data = json.loads(out.read_text())
    assert data["total_params"] == data["trainable_params"] == 137_660
    assert [layer["params"] for layer in data["layers"] if layer["type"] == "Conv2d"] == [250, 11_300]
    assert data["layers"][0]["macs"] == 152_100 + 16_900
    assert main(["summary", "lecture_cnn", "--no-bias-macs", "--json", str(out), "--force"]) == 0
    assert json.loads(out.read_text())["layers"][0]["macs"] == 152_100


def test_cli_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "s.json"
    out.write_text("keep")
    assert main(["summary", "lecture_cnn", "--json", str(out)]) == 2
    assert "--force" in capsys.readouterr().err and out.read_text() == "keep"


def test_cli_unknown_model_is_one_line(capsys):
    assert main(["summary", "lenet7"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("filterkit: error: unknown model 'lenet7'")
    assert all(name in err for name in model_names())


@pytest.mark.parametrize("argv, message", [
    (["summary", "vgg16", "--input", "3,100,100"], "cannot take an input of shape 3,100,100"),
    (["summary", "vgg16", "--input", "3,a"], "--input"),
    (["summary", "lenet5", "--set", "variant"], "KEY=VALUE"),
    (["summary", "lenet5", "--set", "width=3"], "no option width"),
    (["summary", "lenet5", "--depth", "0"], "--depth"),
])
def test_cli_user_errors(argv, message, capsys):
    try:
        code = main(argv)
    except SystemExit as exc:  # options validated at parse time (argparse exits with 2)
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_cli_input_channels_and_options(capsys):
    assert main(["summary", "lecture_cnn", "--input", "3,28,28", "--num-classes", "4"]) == 0
    text = capsys.readouterr().out
    assert "conv1 (Conv2d)" in text and " 700 " in text  # 25 x 3 x 9 + 25
    assert main(["summary", "lenet5", "--set", "variant=modern", "--depth", "1"]) == 0
    assert "61,706" in capsys.readouterr().out
    assert main(["summary", "googlenet", "--set", "aux_logits=true", "--train", "--depth", "1"]) == 0
    aux_rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("aux")]
    assert len(aux_rows) == 2 and all("(not called)" not in line for line in aux_rows)
    assert main(["summary", "--list"]) == 0
    assert "alexnet_grouped" in capsys.readouterr().out
