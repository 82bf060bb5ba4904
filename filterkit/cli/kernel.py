"""``filterkit kernel``: print a named kernel, its integer form, and optionally draw it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from filterkit.cli.common import add_force_option, add_json_option, float_range, int_range
from filterkit.errors import UserError
from filterkit.io import refuse_overwrite, write_report

HELP = "print a filter kernel (float and integer form) and optionally plot it"

DESCRIPTION = """\
Print the weights of a named kernel as filterkit applies them (by correlation;
axis 0 = rows/y, axis 1 = columns/x), their sum, and an integer form
"weights / divisor" with its largest error.

The integer form scales the kernel so that its smallest non-zero weight is 1
(at most 1000 for the largest) and rounds; kernels that are already integers (sobel, laplacian, ...) are
printed as they are.  For a 3x3 or 5x5 gaussian the textbook integer kernels
[1 2 1; 2 4 2; 1 2 1]/16 and the 5x5 /273 table are shown as well, with their
largest difference from the requested kernel.

examples:
  filterkit kernel gaussian --size 5 --sigma 1
  filterkit kernel sobel_x --plot sobel_x.png
  filterkit kernel --list
"""

# which options each kernel takes (everything else is fixed)
_SIZED = {"box", "mean", "gaussian", "sobel_x", "sobel_y", "identity"}
_MAX_INTEGER = 1000  # largest weight of an integer form
MAX_SIZE = 99  # largest kernel side printed (pixels); the filters themselves take larger windows
MAX_SIGMA = 12.0  # gaussian sigma bound: its default 4-sigma radius (49) stays within MAX_SIZE
_ALIASES = {"laplace": "laplacian4", "laplacian": "laplacian4"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", metavar="NAME", help="kernel name (see --list), e.g. gaussian, sobel_x")
    parser.add_argument("--list", action="store_true", help="list the kernel names and exit")
    parser.add_argument("--size", type=int_range(1, MAX_SIZE), default=None,
                        help=f"odd size in pixels, at most {MAX_SIZE} (box/mean, gaussian, identity; sobel 3 or 5)")
    parser.add_argument("--sigma", type=float_range(0, MAX_SIGMA, lo_open=True), default=None,
                        help=f"gaussian standard deviation in pixels, > 0 and <= {MAX_SIGMA:g} (without it: OpenCV's "
                        "rule from --size; default size 3)")
    parser.add_argument("--truncate", type=float_range(0, 10, lo_open=True), default=4.0,
                        help="gaussian radius in sigmas when only --sigma is given, > 0 and <= 10 (scipy's rule; "
                        "default 4)")
    parser.add_argument("--plot", metavar="PNG", default=None,
                        help="draw the kernel with its cell values into this image file (.png, .svg or .pdf)")
    add_force_option(parser, "--plot and --json files")
    add_json_option(parser)


def _canonical(name: str) -> str:
    from filterkit.filters.kernels import kernel_names

    key = name.lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in kernel_names():
        close = [n for n in kernel_names() if n.startswith(key.split("_")[0])]
        hint = f" (did you mean {' or '.join(close)}?)" if close else " (see filterkit kernel --list)"
        raise UserError(f"unknown kernel {name!r}{hint}")
    return key


def build_kernel(name: str, size: int | None, sigma: float | None, truncate: float = 4.0):
    """The kernel ``name`` as a float64 array; refuses options the kernel does not take."""
    from filterkit.filters.kernels import get_kernel

    key = _canonical(name)
    if size is not None and key not in _SIZED:
        raise UserError(f"--size does not apply to kernel {key} (its size is fixed)")
    if sigma is not None and key != "gaussian":
        raise UserError(f"--sigma applies to the gaussian kernel only, not {key}")
    params: dict = {}
    if size is not None:
        params["size"] = size
    if key == "gaussian":
        params.update(sigma=sigma, truncate=truncate)
    try:
        kernel = get_kernel(key, **params)
    except ValueError as exc:
        raise UserError(f"kernel {key}: {exc}") from None
    if max(kernel.shape) > MAX_SIZE:
        raise UserError(f"kernel {key}: {kernel.shape[0]}x{kernel.shape[1]} is larger than the {MAX_SIZE}x{MAX_SIZE} "
                        "this command prints; use a smaller --sigma or --truncate")
    return kernel


def integer_form(kernel) -> tuple:
    """``(weights, divisor, max_abs_error)``: integers with ``weights / divisor ~= kernel``.

    Integer-valued kernels are returned as they are (divisor 1).  Otherwise the
    kernel is scaled so that its smallest non-zero magnitude is 1 (or, when that
    would make the largest weight exceed 1000, so that the largest is 1000) and
    rounded; the divisor is the scale (the sum of the weights for a kernel
    summing to 1).
    """
    import numpy as np

    k = np.asarray(kernel, dtype=np.float64)
    if np.array_equal(k, np.round(k)):
        return k.astype(np.int64), 1, 0.0
    smallest, largest = np.abs(k[k != 0]).min(), np.abs(k).max()
    scale = 1.0 / smallest if largest / smallest <= _MAX_INTEGER else _MAX_INTEGER / largest
    weights = np.round(k * scale).astype(np.int64)
    total = int(weights.sum())
    divisor = total if abs(k.sum() - 1.0) < 1e-9 and total > 0 else float(scale)
    error = float(np.abs(weights / divisor - k).max())
    return weights, divisor, error


def _format_matrix(k, integer: bool) -> str:
    import numpy as np

    if integer:
        cells = [[str(int(v)) for v in row] for row in k]
    else:
        cells = [[f"{v:.6g}" for v in row] for row in np.asarray(k)]
    width = max(len(c) for row in cells for c in row)
    return "\n".join("  " + " ".join(c.rjust(width) for c in row) for row in cells)


def describe(key: str, kernel, size: int | None, sigma: float | None) -> tuple[str, dict]:
    """The printed report and the same figures as a JSON-able dict."""
    import numpy as np

    from filterkit.filters.kernels import gaussian_integer

    h, w = kernel.shape
    label = f"{key} {h}x{w}" + (f", sigma={sigma:g}" if sigma is not None else "")
    lines = [f"{label}  (correlation; sum {kernel.sum():.6g})"]
    weights, divisor, error = integer_form(kernel)
    report = {"name": key, "shape": [h, w], "size": size, "sigma": sigma, "kernel": kernel, "sum": kernel.sum()}
    if divisor == 1:
        lines.append(_format_matrix(weights, integer=True))
    else:
        lines.append(_format_matrix(kernel, integer=False))
        div = f"{divisor}" if isinstance(divisor, int) else f"{divisor:.6g}"
        lines.append(f"integer form, divide by {div}; max error {error:.2g}:")
        lines.append(_format_matrix(weights, integer=True))
    report["integer"] = {"weights": weights, "divisor": divisor, "max_abs_error": error}
    if key == "gaussian" and h == w and h in (3, 5):
        tw, td = gaussian_integer(h)
        terr = float(np.abs(tw / td - kernel).max())
        lines.append(f"textbook integer gaussian, divide by {td}; max difference from the kernel above {terr:.2g}:")
        lines.append(_format_matrix(tw, integer=True))
        report["textbook_integer"] = {"weights": tw, "divisor": td, "max_abs_difference": terr}
    return "\n".join(lines), report


def plot_kernel(kernel, title: str, path: Path) -> None:
    """Draw ``kernel`` as a heat map with every cell's value written in it (atomic PNG write)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from filterkit.io import atomic_write

    h, w = kernel.shape
    signed = bool((kernel < 0).any())
    limit = float(np.abs(kernel).max()) or 1.0
    fig, ax = plt.subplots(figsize=(max(3.0, 0.7 * w + 1.5), max(3.0, 0.7 * h + 1.2)), dpi=100)
    if signed:
        im = ax.imshow(kernel, cmap="RdBu_r", vmin=-limit, vmax=limit)
    else:
        im = ax.imshow(kernel, cmap="viridis", vmin=0, vmax=limit)
    integer = np.array_equal(kernel, np.round(kernel))
    if h * w <= 15 * 15:
        for (r, c), v in np.ndenumerate(kernel):
            text = f"{int(v)}" if integer else f"{v:.3g}"
            dark = abs(v) > 0.6 * limit if signed else v < 0.5 * limit
            ax.text(c, r, text, ha="center", va="center", fontsize=9, color="white" if dark else "black")
    ax.set_xticks(range(w), [str(i - w // 2) for i in range(w)])
    ax.set_yticks(range(h), [str(i - h // 2) for i in range(h)])
    ax.set_xlabel("x offset (columns)")
    ax.set_ylabel("y offset (rows)")
    ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=ax, shrink=0.8)
    fig.tight_layout()
    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, format=path.suffix.lstrip(".").lower() or "png"))
    finally:
        plt.close(fig)


def run(args: argparse.Namespace) -> int:
    from filterkit.filters.kernels import kernel_names

    if args.list:
        print("\n".join(kernel_names()))
        return 0
    if not args.name:
        raise UserError("give a kernel NAME (see filterkit kernel --list)")
    refuse_overwrite(args.plot, args.force)
    refuse_overwrite(args.json, args.force)
    plot_path = Path(args.plot) if args.plot else None
    if plot_path is not None and plot_path.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise UserError(f"--plot {plot_path}: use a .png, .svg or .pdf file name")
    key = _canonical(args.name)
    kernel = build_kernel(key, args.size, args.sigma, args.truncate)
    text, report = describe(key, kernel, args.size, args.sigma)
    print(text, file=sys.stderr if args.json == "-" else sys.stdout)
    if plot_path is not None:
        plot_kernel(kernel, text.splitlines()[0], plot_path)
        print(f"plot written to {plot_path}", file=sys.stderr)
    if args.json:
        write_report(args.json, report, force=args.force)
    return 0
