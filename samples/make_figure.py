"""Draw ``figure_filters.png`` (the README figure) from ``camera_saltpepper.png``.

    python samples/make_figure.py [--out samples/figure_filters.png] [--force]

Five panels, all 256x256, computed with filterkit's public functions:
salt-and-pepper input; mean 3x3 (the noise is smeared, not removed); median
3x3 (the noise is gone); Sobel gradient magnitude and Laplacian of the median
result (on the noisy input both would respond mostly to the noise), shown as
``|value|`` saturated at 255 (``filterkit.filters.dtypes.to_uint8(scale="abs")``,
Laplacian with gain 2 to be visible).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def panels(noisy: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """(title, uint8 image) for each panel."""
    import filterkit.filters.ndimage as fk
    from filterkit.filters.dtypes import to_uint8

    median = fk.median(noisy, size=3)
    sobel = np.hypot(fk.sobel(median, axis=1), fk.sobel(median, axis=0))
    return [
        ("input: 5 % salt and pepper", noisy),
        ("mean 3x3: noise smeared", fk.mean(noisy, size=3)),
        ("median 3x3: noise removed", median),
        ("Sobel magnitude (of median)", to_uint8(sobel, "abs")),
        ("Laplacian |.| x2 (of median)", to_uint8(fk.laplace(median), "abs", gain=2.0)),
    ]


def draw(items: list[tuple[str, np.ndarray]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from filterkit.io import atomic_write

    fig, axes = plt.subplots(1, len(items), figsize=(2.9 * len(items), 3.25), dpi=100)
    for ax, (title, image) in zip(axes, items):
        ax.imshow(image, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        ax.set_title(title, fontsize=10)
        ax.set_axis_off()
    fig.tight_layout(pad=0.4)
    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    finally:
        plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", type=Path, default=HERE / "camera_saltpepper.png", help="noisy grey image")
    parser.add_argument("--out", type=Path, default=HERE / "figure_filters.png", help="figure file (PNG)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing figure")
    args = parser.parse_args(argv)
    if args.out.exists() and not args.force:
        print(f"{args.out}: exists; use --force to redraw it", file=sys.stderr)
        return 1

    from filterkit.io import read_image

    draw(panels(read_image(args.input)), args.out)
    print(f"{args.out}: {args.out.stat().st_size / 1024:.0f} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
