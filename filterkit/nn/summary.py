"""Layer-by-layer summary of any ``nn.Module``: output shapes, parameters, multiply-adds.

    >>> from filterkit.nn.summary import summarize
    >>> s = summarize(model, (1, 28, 28))         # one sample of shape (C, H, W)
    >>> print(s.table())                          # aligned text table, Keras style
    >>> s.to_dict()                               # {"layers": [...], "total_params", ...}

How it works: forward hooks on every submodule record each call while the
model runs once with no arithmetic at all (``trace=``):

* ``"empty"`` (default): a batch of *zero* samples on the CPU; parameters
  that live on the ``meta`` device (a model built under
  ``with torch.device("meta"):``) are swapped, via
  :func:`torch.func.functional_call`, for uninitialised CPU tensors that are
  never touched (so never paged in).  PyTorch's C++ shape logic does all the
  work: VGG-16 takes milliseconds.
* ``"meta"``: one sample of meta tensors (parameters swapped the same way).
  Equally exact, but the first meta operation in a process imports PyTorch's
  Python decompositions (about 1-3 s).
* ``"real"``: one sample of zeros on the model's own device.

A trace that fails falls back to the next one (``Summary.trace`` says which
ran); the model itself is never modified.  Per-sample shapes are recorded
(the batch dimension dropped).  The model runs in eval mode (restored
afterwards) unless ``train=True``.

Conventions
-----------
* ``params``: elements of the parameters a layer owns (``nn.Parameter``;
  buffers such as batch-norm running statistics are not parameters);
  ``trainable``: those with ``requires_grad``.  A module called several times
  is charged once, at its first call.  Totals count each tensor once.
* ``macs`` (multiply-accumulates, per sample): weights x output positions.
  Convolution: weight elements x output positions (grouped convolutions
  included: the weight is smaller), transposed convolution: x input positions;
  linear: weight elements x rows; normalisation layers with an affine scale:
  one per output value.  ``bias_macs=True`` adds one per output value for each
  bias (LeCun's "connections"); ``False`` gives the weights-only figure that
  most papers quote (Szegedy et al. 2014's "ops").  Layers without weights
  (activations, pooling, dropout, LRN) count 0.  Modules may define
  ``count_macs(input_shapes, output_shape, bias_macs) -> int`` (per-sample
  shapes, no batch dimension) to state their own count;
  other leaf modules with parameters count ``None`` (unknown) and
  ``Summary.macs_complete`` is then False.
* ``arithmetic``: for convolution and pooling layers, the output-size formula
  O = (I - K + 2P)/S + 1 with the layer's numbers per spatial axis
  (K = dilation*(kernel-1)+1), rounded down (up for ``ceil_mode``) when the
  division is not exact: ``(224-11+2*0)/4+1 = 54.25 -> 54``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import torch
from torch import nn

__all__ = ["LayerRow", "Summary", "summarize", "conv_arithmetic"]


@dataclass
class LayerRow:
    """One row of the summary: a module call (or a module that was never called)."""

    name: str  # qualified module name, "" for the root
    type: str  # class name
    depth: int  # nesting level: 1 for children of the root
    output_shape: list | None  # per-sample output shape (batch dimension dropped); list of shapes for tuples
    params: int
    trainable: int
    macs: int | None
    kernel: str = ""  # e.g. "3x3/1 p0" for conv and pooling layers
    arithmetic: str = ""  # O = (I-K+2P)/S+1 with numbers, per spatial axis

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "output_shape": self.output_shape,
            "params": self.params,
            "trainable": self.trainable,
            "macs": self.macs,
            "kernel": self.kernel,
            "arithmetic": self.arithmetic,
        }


@dataclass
class Summary:
    """Rows plus totals; :meth:`table` renders it, :meth:`to_dict` gives the JSON form."""

    model: str
    input_shape: tuple[int, ...]
    layers: list[LayerRow]
    total_params: int
    trainable_params: int
    total_macs: int
    bias_macs: bool
    macs_complete: bool = True
    trace: str = "empty"
    notes: list[str] = field(default_factory=list)

    @property
    def non_trainable_params(self) -> int:
        return self.total_params - self.trainable_params

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "input_shape": list(self.input_shape),
            "layers": [row.to_dict() for row in self.layers],
            "total_params": self.total_params,
            "trainable_params": self.trainable_params,
            "total_macs": self.total_macs,
            "bias_macs": self.bias_macs,
            "macs_complete": self.macs_complete,
            "trace": self.trace,
        }

    def table(self) -> str:
        """Aligned text table with one line per row and the totals below."""
        headers = ("Layer (type)", "Output shape", "Kernel", "Params", "Trainable", "MACs", "O = (I-K+2P)/S+1")
        body = []
        for row in self.layers:
            label = f"{row.name or '(model)'} ({row.type})"
            body.append((
                label,
                _format_shape(row.output_shape),
                row.kernel,
                f"{row.params:,}",
                f"{row.trainable:,}",
                "?" if row.macs is None else f"{row.macs:,}",
                row.arithmetic,
            ))
        right = {3, 4, 5}
        widths = [max([len(h)] + [len(r[i]) for r in body]) for i, h in enumerate(headers)]

        def line(cells: Sequence[str]) -> str:
            parts = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))]
            return "  ".join(parts).rstrip()

        rule = "=" * len(line(["x" * w for w in widths]))
        out = [f"{self.model}  input {'x'.join(map(str, self.input_shape))} (one sample)", rule,
               line(headers), rule.replace("=", "-")]
        out += [line(cells) for cells in body]
        convention = "bias counted" if self.bias_macs else "bias not counted"
        macs = f"{self.total_macs:,}" + ("" if self.macs_complete else " (lower bound: some layers unknown)")
        out += [
            rule,
            f"Total params:         {self.total_params:,}",
            f"Trainable params:     {self.trainable_params:,}",
            f"Non-trainable params: {self.non_trainable_params:,}",
            f"Total MACs:           {macs}  ({_si(self.total_macs)}; weights x output positions, {convention})",
            f"Params size (float32): {self.total_params * 4 / 2**20:.2f} MiB",
        ]
        if self.trace == "real":
            out.append("Traced with a real forward (the shape-only traces failed for this model).")
        out += self.notes
        return "\n".join(out)


def _si(n: int) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {unit}"
    return str(n)


def _format_shape(shape: list | None) -> str:
    if shape is None:
        return "(not called)"
    if shape and isinstance(shape[0], list):
        return ", ".join(_format_shape(s) for s in shape)
    return "x".join(map(str, shape)) if shape else "scalar"


def _per_sample_shape(output: Any) -> list | None:
    if isinstance(output, torch.Tensor):
        return list(output.shape[1:])
    if isinstance(output, (tuple, list)):
        shapes = [_per_sample_shape(o) for o in output if isinstance(o, torch.Tensor)]
        return shapes or None
    return None


# --------------------------------------------------------------------------- arithmetic

def _as_tuple(value: Any, n: int) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n


def _padding_per_axis(module: nn.Module, kernel: tuple[int, ...], dilation: tuple[int, ...]) -> tuple[float, ...]:
    padding = getattr(module, "padding", 0)
    n = len(kernel)
    if padding == "valid":
        return (0,) * n
    if padding == "same":  # total padding d*(k-1), split (the extra one on the right when odd)
        return tuple(d * (k - 1) / 2 for k, d in zip(kernel, dilation))
    return _as_tuple(padding, n)


def conv_arithmetic(size_in: int, kernel: int, stride: int, padding: float, dilation: int = 1,
                    ceil_mode: bool = False) -> tuple[str, int]:
    """``("(I-K+2*P)/S+1 = O", O)`` with the numbers filled in; K is the dilated kernel extent."""
    extent = dilation * (kernel - 1) + 1
    numerator = size_in - extent + 2 * padding
    exact = numerator / stride + 1
    out = math.ceil(numerator / stride) + 1 if ceil_mode else math.floor(numerator / stride) + 1
    pad = int(padding) if float(padding).is_integer() else padding
    text = f"({size_in}-{extent}+2*{pad})/{stride}+1 = "
    if float(exact).is_integer():
        text += f"{int(exact)}"
    else:
        text += f"{exact:g} -> {'ceil ' if ceil_mode else ''}{out}"
    return text, out


def _window_geometry(module: nn.Module) -> tuple[tuple, tuple, tuple, tuple, bool] | None:
    """(kernel, stride, padding, dilation, ceil_mode) per spatial axis for conv/pool-like modules."""
    if isinstance(module, (nn.modules.pooling._AdaptiveAvgPoolNd, nn.modules.pooling._AdaptiveMaxPoolNd)):
        return None
    if isinstance(module, nn.modules.conv._ConvTransposeNd):
        return None  # output size follows a different formula
    kernel = getattr(module, "kernel_size", None)
    if kernel is None:
        return None
    if isinstance(module, nn.modules.conv._ConvNd):
        n = len(module.kernel_size)
    elif isinstance(kernel, (tuple, list)):
        n = len(kernel)
    else:
        n = {"1d": 1, "3d": 3}.get(type(module).__name__[-2:].lower(), 2)
    kernel = _as_tuple(kernel, n)
    stride = getattr(module, "stride", None)
    stride = _as_tuple(kernel if stride in (None, ()) else stride, n)
    dilation = _as_tuple(getattr(module, "dilation", 1), n)
    padding = _padding_per_axis(module, kernel, dilation)
    return kernel, stride, padding, dilation, bool(getattr(module, "ceil_mode", False))


def _kernel_and_arithmetic(module: nn.Module, input_shape: list | None, output_shape: list | None) -> tuple[str, str]:
    geometry = _window_geometry(module)
    if geometry is None:
        if isinstance(module, (nn.modules.pooling._AdaptiveAvgPoolNd, nn.modules.pooling._AdaptiveMaxPoolNd)):
            return "adaptive", ""
        return "", ""
    kernel, stride, padding, dilation, ceil_mode = geometry
    fmt = lambda v: int(v) if float(v).is_integer() else v  # noqa: E731
    kernel_text = "x".join(map(str, kernel)) + "/" + "x".join(map(str, stride)) if len(set(stride)) > 1 else \
        "x".join(map(str, kernel)) + f"/{stride[0]}"
    pads = sorted(set(padding))
    kernel_text += " p" + ("x".join(str(fmt(p)) for p in padding) if len(pads) > 1 else str(fmt(pads[0])))
    if any(d != 1 for d in dilation):
        kernel_text += " d" + "x".join(map(str, dilation))
    if not input_shape or output_shape is None or len(input_shape) < len(kernel):
        return kernel_text, ""
    sizes_in = input_shape[-len(kernel):]
    sizes_out = output_shape[-len(kernel):] if output_shape and not isinstance(output_shape[0], list) else None
    parts = []
    for axis, (i, k, s, p, d) in enumerate(zip(sizes_in, kernel, stride, padding, dilation)):
        text, predicted = conv_arithmetic(i, k, s, p, d, ceil_mode)
        if sizes_out is not None and sizes_out[axis] != predicted:
            text += f" (actual {sizes_out[axis]})"
        parts.append(text)
    if len(set(parts)) == 1:
        return kernel_text, parts[0]
    axis_names = "HW" if len(parts) == 2 else "DHW" if len(parts) == 3 else "L"
    return kernel_text, "; ".join(f"{a}: {t}" for a, t in zip(axis_names, parts))


# --------------------------------------------------------------------------- MACs

_NORM_TYPES = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm)


def _leaf_macs(module: nn.Module, in_shapes: list[list[int]], out_shape: list | None, bias_macs: bool) -> int | None:
    """Multiply-adds of one call of a module without children, from per-sample shapes (see the module docstring)."""
    counter = getattr(module, "count_macs", None)
    if callable(counter):
        return int(counter(in_shapes, out_shape, bias_macs))
    if next(iter(module.parameters(recurse=False)), None) is None:
        return 0
    if out_shape is None or (out_shape and isinstance(out_shape[0], list)):
        return None
    out_numel = math.prod(out_shape)
    bias = getattr(module, "bias", None)
    bias_term = out_numel if (bias_macs and isinstance(bias, torch.Tensor)) else 0
    if isinstance(module, nn.modules.conv._ConvTransposeNd):
        if not in_shapes:
            return None
        return module.weight.numel() * math.prod(in_shapes[0][1:]) + bias_term
    if isinstance(module, nn.modules.conv._ConvNd):
        return module.weight.numel() * math.prod(out_shape[1:]) + bias_term
    if isinstance(module, nn.Linear):
        return module.weight.numel() * math.prod(out_shape[:-1]) + bias_term
    if isinstance(module, _NORM_TYPES):
        scale = out_numel if getattr(module, "weight", None) is not None else 0
        return scale + bias_term
    if isinstance(module, nn.Embedding):
        return 0
    return None


# --------------------------------------------------------------------------- tracing

@dataclass
class _Call:
    module: nn.Module
    name: str
    depth: int
    index: int  # position in start order
    input_shapes: list[list[int]] = field(default_factory=list)  # per-sample shapes of the tensor arguments
    output_shape: list | None = None
    own_macs: int | None = 0  # this module's own arithmetic (children not included)
    end: int = 0  # calls[index + 1:end] ran inside this one
    finished: bool = False

    @property
    def is_leaf(self) -> bool:
        return next(iter(self.module.children()), None) is None


def _own_macs(module: nn.Module, in_shapes: list[list[int]], out_shape: list | None, bias_macs: bool) -> int | None:
    if next(iter(module.children()), None) is None or callable(getattr(module, "count_macs", None)):
        return _leaf_macs(module, in_shapes, out_shape, bias_macs)
    return None if next(iter(module.parameters(recurse=False)), None) is not None else 0


def _trace(module: nn.Module, input_shape: Sequence[int], bias_macs: bool, trace: str) -> list[_Call]:
    """Run one sample through ``module`` with hooks on every submodule; return the calls in start order."""
    names = {id(m): name for name, m in module.named_modules(remove_duplicate=False)}
    calls: list[_Call] = []
    open_calls: dict[int, list[_Call]] = {}
    handles = []

    def pre_hook(mod: nn.Module, args: tuple) -> None:
        name = names.get(id(mod), "")
        shapes = [list(a.shape[1:]) for a in args if isinstance(a, torch.Tensor)]
        call = _Call(mod, name, 0 if name == "" else name.count(".") + 1, len(calls), input_shapes=shapes)
        calls.append(call)
        open_calls.setdefault(id(mod), []).append(call)

    def post_hook(mod: nn.Module, args: tuple, output: Any) -> None:
        stack = open_calls.get(id(mod))
        if not stack:
            return
        call = stack.pop()
        call.output_shape = _per_sample_shape(output)
        call.own_macs = _own_macs(mod, call.input_shapes, call.output_shape, bias_macs)
        call.end = len(calls)
        call.finished = True

    for sub in module.modules():
        handles.append(sub.register_forward_pre_hook(pre_hook))
        handles.append(sub.register_forward_hook(post_hook))
    try:
        _forward(module, input_shape, trace)
    finally:
        for handle in handles:
            handle.remove()
    return [c for c in calls if c.finished]


def _forward(module: nn.Module, input_shape: Sequence[int], trace: str) -> None:
    """One forward pass without arithmetic ("empty", "meta") or of one zero sample ("real")."""
    named = list(module.named_parameters(remove_duplicate=False)) + list(module.named_buffers(remove_duplicate=False))
    dtype = next((t.dtype for _, t in named if t.is_floating_point()), torch.get_default_dtype())
    on_meta = {name for name, t in named if t.device.type == "meta"}
    home = next((t.device for _, t in named if t.device.type != "meta"), torch.device("cpu"))
    with torch.no_grad():
        if trace == "empty":
            x = torch.empty((0, *input_shape), dtype=dtype, device=home)
            swap = {name: torch.empty(t.shape, dtype=t.dtype, device=home) for name, t in named if name in on_meta}
        elif trace == "meta":
            x = torch.empty((1, *input_shape), dtype=dtype, device="meta")
            swap = {name: t.to("meta") for name, t in named if name not in on_meta}
        elif trace == "real":
            if on_meta:
                raise RuntimeError(_NO_WEIGHTS)
            x = torch.zeros((1, *input_shape), dtype=dtype, device=home)
            swap = {}
        else:
            raise ValueError(f"trace must be 'empty', 'meta' or 'real', got {trace!r}")
        if swap:
            torch.func.functional_call(module, swap, (x,), strict=False, tie_weights=True)
        else:
            module(x)


TRACES = ("empty", "meta", "real")
_NO_WEIGHTS = "a real forward needs real weights; the model is on the meta device"


def _no_weights(exc: Exception) -> bool:
    return str(exc) == _NO_WEIGHTS


def summarize(module: nn.Module, input_shape: Sequence[int], bias_macs: bool = True, *,
              depth: int | None = None, train: bool = False, trace: str = "empty",
              name: str | None = None) -> Summary:
    """Summarise ``module`` for one sample of ``input_shape`` (no batch dimension, e.g. (C, H, W)).

    ``bias_macs`` counts one multiply-add per output value for each bias.
    ``depth=None`` lists every leaf module; ``depth=d`` lists modules down to
    nesting level d, containers at level d showing the totals of what they
    hold.  ``trace`` is the first tracing strategy to try (``"empty"``,
    ``"meta"`` or ``"real"``; see the module docstring); a failure falls back
    to the later ones.  ``train=True`` traces the training-mode forward (e.g.
    GoogLeNet's auxiliary heads).  A model that cannot take ``input_shape``
    raises the ``RuntimeError`` of its forward.
    """
    input_shape = tuple(int(s) for s in input_shape)
    if any(s <= 0 for s in input_shape):
        raise ValueError(f"input shape must be positive, got {input_shape}")
    if trace not in TRACES:
        raise ValueError(f"trace must be one of {TRACES}, got {trace!r}")
    modes = {m: m.training for m in module.modules()}
    module.train(train)
    errors: dict[str, Exception] = {}
    try:
        for used in TRACES[TRACES.index(trace):]:
            try:
                calls = _trace(module, input_shape, bias_macs, used)
                break
            except Exception as exc:  # noqa: BLE001 - try the next strategy, report the clearest error below
                errors[used] = exc
        else:  # every trace failed: most likely the input does not fit; the one-sample errors read best
            raise next(errors[t] for t in ("real", "meta", "empty") if t in errors and not _no_weights(errors[t]))
    finally:
        for m, was_training in modes.items():
            m.training = was_training
    rows = _rows(module, calls, depth)
    unique = {id(p): p for p in module.parameters()}
    total = sum(p.numel() for p in unique.values())
    trainable = sum(p.numel() for p in unique.values() if p.requires_grad)
    own_macs = [c.own_macs for c in calls]
    return Summary(
        model=name or type(module).__name__,
        input_shape=input_shape,
        layers=rows,
        total_params=total,
        trainable_params=trainable,
        total_macs=sum(m for m in own_macs if m is not None),
        bias_macs=bias_macs,
        macs_complete=all(m is not None for m in own_macs),
        trace=used,
    )


def _count(params: Sequence[torch.Tensor]) -> tuple[int, int]:
    return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)


def _rows(module: nn.Module, calls: list[_Call], depth: int | None) -> list[LayerRow]:
    """Turn calls into rows.

    Shown: leaves and modules with parameters of their own (their own
    parameters and arithmetic), and with ``depth`` set, modules at that
    nesting level as one row holding everything inside them.  Parameters are
    charged at a module's first call; modules never called come last.
    """
    charged: set[int] = set()
    rows = []
    covered_until = 0  # calls before this index ran inside an aggregated row
    for call in calls:
        if call.index < covered_until or (depth is not None and call.depth > depth):
            continue
        aggregate = depth is not None and call.depth == depth and not call.is_leaf
        has_own = next(iter(call.module.parameters(recurse=False)), None) is not None
        if not (aggregate or call.is_leaf or has_own):
            continue
        params, trainable = 0, 0
        if id(call.module) not in charged:
            charged.add(id(call.module))
            params, trainable = _count(list(call.module.parameters(recurse=aggregate)))
        if aggregate:
            covered_until = call.end
            inner = [c.own_macs for c in calls[call.index:call.end]]
            macs = None if any(m is None for m in inner) else sum(inner)
        else:
            macs = call.own_macs
        first_input = call.input_shapes[0] if call.input_shapes else None
        kernel, arithmetic = _kernel_and_arithmetic(call.module, first_input, call.output_shape)
        rows.append(LayerRow(call.name, type(call.module).__name__, call.depth, call.output_shape,
                             params, trainable, macs, kernel, arithmetic))
    rows += _uncalled_rows(module, {id(c.module) for c in calls}, depth)
    return rows


def _uncalled_rows(module: nn.Module, called: set[int], depth: int | None) -> list[LayerRow]:
    rows: list[LayerRow] = []
    aggregated: list[str] = []
    for qualified, sub in module.named_modules():
        if id(sub) in called or any(qualified.startswith(prefix + ".") for prefix in aggregated):
            continue
        level = 0 if qualified == "" else qualified.count(".") + 1
        if depth is not None and level > depth:
            continue
        aggregate = depth is not None and level == depth
        params, trainable = _count(list(sub.parameters(recurse=aggregate)))
        if params == 0:
            continue
        if aggregate:
            aggregated.append(qualified)
        rows.append(LayerRow(qualified, type(sub).__name__, level, None, params, trainable, 0))
    return rows
