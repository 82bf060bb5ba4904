"""A trained lecture-CNN checkpoint to visualise: the ``filterkit compare`` recipe, saved with its model name.

    >>> from filterkit.apps.digits.data import load_digits_data
    >>> trainer = train_digits_cnn(load_digits_data("../shared/data/mnist"), epochs=1, seed=0)
    >>> trainer.save_checkpoint("mnist_cnn.pt")          # config["model"] == "lecture_cnn"

Training is :func:`filterkit.apps.digits.compare.train_run`'s: the ``learned`` variant
(:func:`filterkit.apps.digits.compare.build_variant`), Adam with a one-cycle schedule,
batches from :func:`filterkit.apps.digits.compare.make_loaders` (pixels / 255 normalised
with the MNIST mean and std), through :class:`filterkit.nn.train.Trainer`.  The
checkpoint's config records ``model``, ``input_mean`` and ``input_std`` so
:func:`filterkit.visualize.load_model` can rebuild the network.
"""

from __future__ import annotations

from filterkit.apps.digits.data import DigitsData

__all__ = ["APP", "train_digits_cnn"]

APP = "visualize"


def train_digits_cnn(data: DigitsData, epochs: int = 1, seed: int = 0, lr: float | None = None,
                     batch_size: int | None = None, device: str = "cpu", progress: bool = False):
    """Train the lecture CNN on ``data``; returns the :class:`filterkit.nn.train.Trainer` (test set = validation)."""
    import torch

    from filterkit.apps.digits.compare import (DEFAULT_BATCH_SIZE, DEFAULT_LR, MNIST_MEAN, MNIST_STD, MODEL_NAME,
                                   build_variant, make_loaders, make_optimizer)
    from filterkit.nn.train import Trainer, accuracy

    lr = DEFAULT_LR if lr is None else lr
    batch_size = DEFAULT_BATCH_SIZE if batch_size is None else batch_size
    model = build_variant("learned", seed)
    train_loader, test_loader = make_loaders(data, batch_size, seed)
    optimizer, scheduler, interval = make_optimizer(model, lr, epochs, len(train_loader), "onecycle")
    trainer = Trainer(
        model,
        optimizer,
        torch.nn.functional.cross_entropy,
        app=APP,
        config={"model": MODEL_NAME, "input_mean": MNIST_MEAN, "input_std": MNIST_STD, "data": data.name,
                "epochs": epochs, "seed": seed, "lr": lr, "batch_size": batch_size},
        label_names=[str(i) for i in range(10)],
        device=device,
        scheduler=scheduler,
        scheduler_interval=interval,
        metrics={"accuracy": accuracy},
        max_epochs=epochs,
        progress=progress,
        tensorboard=False,
        seed=seed,
    )
    trainer.fit(train_loader, test_loader)
    return trainer
