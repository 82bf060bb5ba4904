"""Make the small sample images in this folder (deterministic for a given --seed).

    python samples/make_samples.py            # writes missing files next to this script
    python samples/make_samples.py --force    # rewrite them all

Files (each well under 200 KB):

* ``testcard.png``          256x256 grey uint8: gradients, shapes and stripes plus Gaussian noise (sigma 12)
* ``camera_saltpepper.png`` skimage's ``camera`` (2x2 mean-downscaled to 256x256), 5 % salt-and-pepper noise
* ``testcard16.tif``        the test card as 16-bit grey TIFF (full 0..65535 range, noise sigma 800)
* ``astronaut.jpg``         skimage's ``astronaut`` downscaled to 256x256, colour JPEG (quality 90)
* ``coffee_rgba.png``       skimage's ``coffee`` downscaled to 100x150 with a radial alpha channel (RGBA)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def test_card(size: int = 256) -> np.ndarray:
    """Noise-free test card, float64 in [0, 1], shape (size, size): no text, only geometry."""
    y, x = np.mgrid[0:size, 0:size] / (size - 1)
    card = 0.15 + 0.35 * x  # horizontal gradient background
    card[: size // 8] = x[: size // 8]  # full-range ramp along the top
    c = size / 2
    r = np.hypot(y * (size - 1) - 0.62 * size, x * (size - 1) - 0.3 * size)
    card[r < size * 0.16] = 0.9  # bright disc
    s0, s1 = int(0.55 * size), int(0.85 * size)
    card[int(0.2 * size) : int(0.45 * size), s0:s1] = 0.05  # dark square
    tri = (y * (size - 1) > 0.55 * size) & (y * (size - 1) < 0.9 * size)
    tri &= np.abs(x * (size - 1) - 0.72 * size) < (y * (size - 1) - 0.55 * size) * 0.5
    card[tri] = 0.7  # triangle (slanted edges)
    stripes = (y * (size - 1) > 0.2 * size) & (y * (size - 1) < 0.45 * size) & (x * (size - 1) < 0.42 * size)
    period = np.maximum(2, (2 + 10 * x).astype(int))  # stripes getting wider to the right
    card[stripes] = np.where(((x * (size - 1)).astype(int) // period) % 2 == 0, 0.95, 0.1)[stripes]
    ring = np.abs(np.hypot(y * (size - 1) - c, x * (size - 1) - c) - 0.46 * size) < 1.5
    card[ring] = 1.0 - card[ring]  # thin circle (one-to-three pixel edges)
    return card


def salt_and_pepper(image: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Set ``fraction`` of the pixels to 0 or 255 (half each)."""
    noisy = image.copy()
    hit = rng.random(image.shape) < fraction
    salt = rng.random(image.shape) < 0.5
    noisy[hit & salt] = 255
    noisy[hit & ~salt] = 0
    return noisy


def downscale(image: np.ndarray, factor: int) -> np.ndarray:
    """Average ``factor x factor`` blocks, rounded back to uint8."""
    from skimage.transform import downscale_local_mean

    factors = (factor, factor) + (1,) * (image.ndim - 2)
    return np.rint(downscale_local_mean(image.astype(np.float64), factors)).astype(np.uint8)


def make_all(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Every sample image by file name."""
    from skimage import data

    card = test_card()
    images = {
        "testcard.png": np.clip(np.rint(card * 255 + rng.normal(0, 12, card.shape)), 0, 255).astype(np.uint8),
        "camera_saltpepper.png": salt_and_pepper(downscale(data.camera(), 2), 0.05, rng),
        "testcard16.tif": np.clip(np.rint(card * 65535 + rng.normal(0, 800, card.shape)), 0, 65535).astype(np.uint16),
        "astronaut.jpg": downscale(data.astronaut(), 2),
    }
    coffee = downscale(data.coffee(), 4)  # 100 x 150 x 3
    yy, xx = np.mgrid[0 : coffee.shape[0], 0 : coffee.shape[1]]
    r = np.hypot((yy - 50) / 50, (xx - 75) / 75)
    alpha = np.clip(np.rint(255 * (1.3 - r)), 0, 255).astype(np.uint8)
    images["coffee_rgba.png"] = np.dstack([coffee, alpha])
    return images


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write into (default: this folder)")
    parser.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    parser.add_argument("--force", action="store_true", help="rewrite files that exist")
    args = parser.parse_args(argv)

    from filterkit.io import write_image

    for name, image in make_all(np.random.default_rng(args.seed)).items():
        path = args.out / name
        if path.exists() and not args.force:
            print(f"{path}: exists, kept (--force rewrites)", file=sys.stderr)
            continue
        write_image(path, image, quality=90)
        print(f"{path}: {image.shape} {image.dtype}, {path.stat().st_size / 1024:.0f} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
