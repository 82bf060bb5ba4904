"""DistributedDataParallel through the Trainer: 2 CPU processes (gloo) under torchrun == 1 process.

Same global batch (2 x 4 samples vs 1 x 8), same deterministic data, same
initial weights: DDP averages the gradients, so the final weights must agree
to float tolerance, and the evaluation metrics (summed over processes on an
un-padded shard) must agree too.
"""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
import textwrap

import pytest
import torch

WORKER = textwrap.dedent(
    """
    import json, sys
    import torch
    from torch import nn
    from torch.utils.data import BatchSampler, DataLoader, SequentialSampler, TensorDataset
    from filterkit.nn.train import Trainer, accuracy, seed_everything

    out_path, batch_size = sys.argv[1], int(sys.argv[2])
    g = torch.Generator().manual_seed(5)
    x = torch.randn(48, 1, 6, 6, generator=g)
    y = (x[:, 0, :, 3:].mean(dim=(1, 2)) > x[:, 0, :, :3].mean(dim=(1, 2))).long()
    train, val = TensorDataset(x, y), TensorDataset(x[:37], y[:37])  # 37 samples, batches of 3: uneven shards
    loaders = {
        "sampler": (DataLoader(train, batch_size=batch_size), DataLoader(val, batch_size=3)),
        "batch_sampler": (
            DataLoader(train, batch_sampler=BatchSampler(SequentialSampler(train), batch_size, False)),
            DataLoader(val, batch_sampler=BatchSampler(SequentialSampler(val), 3, False)),
        ),
    }
    results = {}
    for kind, (train_loader, val_loader) in loaders.items():
        seed_everything(0)
        model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 2))
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        trainer = Trainer(model, opt, nn.functional.cross_entropy, app="ddp-test", device="cpu", max_epochs=3,
                          metrics={"accuracy": accuracy}, progress=False, out_dir=sys.argv[3] + "_" + kind)
        history = trainer.fit(train_loader, val_loader)
        results[kind] = {"world_size": trainer.world_size, "history": history,
                         "state": {k: v.tolist() for k, v in trainer.module.state_dict().items()}}
        trainer.close()
    if int(__import__("os").environ.get("RANK", "0")) == 0:
        with open(out_path, "w") as f:
            json.dump(results, f)
    """
)


def _run_worker(tmp_path, nproc: int, batch_size: int) -> dict:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    out = tmp_path / f"result_{nproc}.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    args = [str(script), str(out), str(batch_size), str(tmp_path / f"run_{nproc}")]
    if nproc == 1:  # the reference run, in this process (torch is imported already)
        argv = sys.argv
        try:
            sys.argv = args
            runpy.run_path(str(script), run_name="__main__")
        finally:
            sys.argv = argv
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", *args]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text())


@pytest.mark.slow
def test_ddp_two_cpu_processes_match_one_process_on_the_same_global_batch(tmp_path):
    single = _run_worker(tmp_path, 1, batch_size=8)["sampler"]
    ddp = _run_worker(tmp_path, 2, batch_size=4)
    assert single["world_size"] == 1
    assert single["history"][-1]["val_loss"] != single["history"][0]["val_loss"]  # it trained
    for kind in ("sampler", "batch_sampler"):  # DistributedSampler, and every other batch of a batch sampler
        run = ddp[kind]
        assert run["world_size"] == 2
        assert single["state"].keys() == run["state"].keys()
        for key in single["state"]:
            torch.testing.assert_close(torch.tensor(run["state"][key]), torch.tensor(single["state"][key]),
                                       rtol=1e-5, atol=1e-6, msg=lambda m: f"{kind} {key}: {m}")
        for a, b in zip(single["history"], run["history"], strict=True):
            assert b["val_loss"] == pytest.approx(a["val_loss"], rel=1e-5)
            assert b["val_accuracy"] == pytest.approx(a["val_accuracy"], abs=1e-12)
            assert b["train_loss"] == pytest.approx(a["train_loss"], rel=1e-5)
        # rank 0 alone wrote the run folder
        assert (tmp_path / f"run_2_{kind}" / "metrics.csv").is_file()
        assert (tmp_path / f"run_2_{kind}" / "last.pt").is_file()
