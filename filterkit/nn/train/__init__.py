"""The one training engine used by every filterkit model (apps write no loop of their own).

Preferred form: the run's options in one :class:`TrainConfig`, the app's own configuration (plain data
or a dataclass of it) in ``app_config``::

    from filterkit.nn.train import TrainConfig, Trainer, accuracy, read_checkpoint, seed_everything

    seed_everything(0)                       # before building the model: same seed -> same weights
    model = MyCNN(n_classes=10)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    config = TrainConfig(
        epochs=20,
        monitor="val_accuracy",              # decides the best epoch (best.pt); mode inferred ("max")
        patience=None,                       # None: never stop early; 3: stop after 3 epochs without gain
        keep_best=True,                      # after fit(), the model holds the best epoch's weights
        device="auto",                       # "cpu", "cuda", "cuda:1" or "auto"
        out_dir="runs/speech", force=False,  # run folder: best.pt, last.pt, metrics.csv, report.json
    )
    trainer = Trainer(
        model, optimizer, torch.nn.functional.cross_entropy, config=config,
        app="speech",                        # stored in checkpoints; another app's checkpoint is refused
        app_config=speech_config,            # plain python types only (checked), stored as ckpt["config"]
        label_names=["yes", "no"],
        metrics={"accuracy": accuracy},      # fn(outputs, targets) -> float, averaged over samples
        after_step=None,                     # e.g. a max-norm constraint: fn(model) after each step
    )
    history = trainer.fit(train_loader, val_loader)   # list of per-epoch dicts; writes report.json at the end
    trainer.write_report({"test_accuracy": trainer.evaluate(test_loader)["accuracy"]})  # add app figures
    logits = trainer.predict(test_loader)    # model outputs, concatenated, on the CPU

    # resume an interrupted run (model, optimizer, scheduler, scaler, epoch, history, RNG):
    Trainer(model, optimizer, loss, config=config.replace(resume="runs/speech/last.pt")).fit(...)
    # read a checkpoint before building the model (config, label names):
    ckpt = read_checkpoint("runs/speech/best.pt", expected_app="speech")
    # the same script under `torchrun --nproc_per_node=2 script.py` trains with DDP

The older keyword form (``Trainer(model, opt, loss, config={...app config...}, max_epochs=20,
early_stopping=("val_accuracy", "max", 3), out_dir=..., device=...)``) still works: the keywords fill a
TrainConfig, and a mapping given as ``config=`` is the app config.  It writes into ``out_dir`` without
refusing unless ``force=False`` is given.  New code uses ``config=TrainConfig(...)``.

Choices, stated once:

* **Best epoch and early stopping**: ``monitor`` names the history key that decides the best epoch
  (``best.pt``, :meth:`Trainer.restore_best`, ``keep_best``); without it the last epoch is the best.
  ``patience`` stops early; ``patience=None`` never does.
* **Metrics** are called per batch and averaged weighted by the batch size (exact for accuracy-like
  metrics, no outputs kept).  For metrics that do not decompose over samples (F1, AUC) use
  :meth:`Trainer.predict`.  History keys: ``train_loss``, ``train_<metric>``, ``val_loss``,
  ``val_<metric>``, ``lr``, ``epoch``, ``seconds``.
* **Mixed precision** (``amp=True``) is used on CUDA only: bf16 autocast where the GPU supports it,
  otherwise fp16 with a ``GradScaler``; on CPU it is off (float32 keeps CPU runs exact and reproducible).
* **Channels-last** (default: where AMP is on and the model has a ``Conv2d``): the layout cuDNN's
  tensor-core convolutions use; ``benchmarks/gpu.py`` times both layouts.
* **Pinned memory**: on CUDA a loader that is not pinned is rebuilt with ``pin_memory=True`` (same
  sampler, collate and generator), and batches go to the GPU with ``non_blocking=True``.
* **CPU threads**: on CPU the trainer calls :func:`configure_threads` (``DEFAULT_CPU_THREADS`` unless
  ``threads=``, env ``FILTERKIT_NUM_THREADS`` or an explicit ``OMP_NUM_THREADS`` say otherwise; see
  ``benchmarks/threads.py``).
* **Checkpoints** are plain dicts that load with ``torch.load(weights_only=True)``
  (:mod:`.checkpoint`); resuming from ``last.pt`` continues the run exactly.
* **Distributed**: under ``torchrun`` (env ``WORLD_SIZE`` > 1) the trainer joins the process group,
  wraps the model in ``DistributedDataParallel`` and shards the loaders (:mod:`.loaders`).  Metrics
  are summed over processes; only rank 0 shows progress and writes files.  BatchNorm statistics are
  not synchronised.

Modules: :mod:`.config` (TrainConfig), :mod:`.trainer` (the loop), :mod:`.checkpoint` (checkpoints,
RunFolder), :mod:`.loaders` (batches, pinning, DDP sharding), :mod:`.distributed` (torchrun runtime),
:mod:`.device` (device, threads, seeds), :mod:`.metrics`.
"""

from filterkit.nn.train.checkpoint import CHECKPOINT_FORMAT, RunFolder, read_checkpoint
from filterkit.nn.train.config import EarlyStopping, TrainConfig
from filterkit.nn.train.device import (
    DEFAULT_CPU_THREADS,
    configure_threads,
    seed_everything,
    select_device,
)
from filterkit.nn.train.distributed import distributed_info
from filterkit.nn.train.metrics import accuracy
from filterkit.nn.train.trainer import Trainer

__all__ = [
    "CHECKPOINT_FORMAT",
    "DEFAULT_CPU_THREADS",
    "EarlyStopping",
    "RunFolder",
    "TrainConfig",
    "Trainer",
    "accuracy",
    "configure_threads",
    "distributed_info",
    "read_checkpoint",
    "seed_everything",
    "select_device",
]
