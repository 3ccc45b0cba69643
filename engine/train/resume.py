"""The 'last' checkpoint: everything needed to continue a run exactly where it stopped.

Saved after every epoch: model tensors per node, optimizer state (tensors in safetensors, the
rest in JSON), the torch and shuffling generator states, the schedule and early-stopping state
and the history. Resuming restores all of it, so the continued loss curve is the one the
uninterrupted run would have drawn (bit-identical on the CPU).
"""
from __future__ import annotations

from pathlib import Path

from . import checkpoint as ckpt
from .faults import TrainError


def save_last(t, epoch: int) -> Path:
    import torch

    tensors, optim_meta = ckpt.split_optimizer_state(t.optimizer.state_dict())
    tensors["rng/torch"] = torch.get_rng_state()
    tensors["rng/shuffle"] = t.gen.get_state()
    if t.device.type == "cuda":
        tensors["rng/cuda"] = torch.cuda.get_rng_state(t.device)
    info = {"epoch": epoch, "global_step": t.global_step, "optimizer": optim_meta,
            "schedule": t.schedule.state_dict(), "current_lr": t.current_lr,
            "best": t.best_row, "bad_epochs": t.bad_epochs, "history": t.history,
            "monitor": t.monitor}
    return ckpt.save_checkpoint(t.run_dir, "last", t.node_state(), info, tensors)


def load_resume(t) -> None:
    """Restore the trainer from `t.resume_from`'s last checkpoint."""
    import torch

    from ..compile import WeightsError, apply_weights

    run_dir = Path(t.resume_from)
    try:
        weights, tensors, info = ckpt.load_checkpoint(run_dir, "last")
        apply_weights(t.model, weights, strict=True)
        optim_tensors = {k: v for k, v in tensors.items() if k.startswith("optim/")}
        t.optimizer.load_state_dict(ckpt.join_optimizer_state(optim_tensors,
                                                              info["optimizer"]))
    except (OSError, KeyError, ValueError, WeightsError) as exc:
        raise TrainError(f"cannot resume from {run_dir}: {exc}", "error") from exc
    if "rng/torch" in tensors:
        torch.set_rng_state(tensors["rng/torch"])
    if "rng/shuffle" in tensors:
        t.gen.set_state(tensors["rng/shuffle"])
    if "rng/cuda" in tensors and t.device.type == "cuda":
        torch.cuda.set_rng_state(tensors["rng/cuda"], t.device)
    t.schedule.load_state_dict(info["schedule"])
    t.current_lr = info.get("current_lr", t.current_lr)
    for group in t.optimizer.param_groups:
        group["lr"] = t.current_lr
    t.start_epoch = int(info["epoch"])
    t.global_step = int(info["global_step"])
    t.history = list(info.get("history", []))
    t.best_row = info.get("best")
    t.bad_epochs = int(info.get("bad_epochs", 0))
    es = t.config["early_stopping"]
    if es and es["restore_best"] and ckpt.has_checkpoint(run_dir, "best"):
        best, _, _ = ckpt.load_checkpoint(run_dir, "best")
        state = {k: v.detach().clone() for k, v in t.model.state_dict().items()}
        apply_weights(t.model, best)
        t.best_state = {k: v.detach().clone() for k, v in t.model.state_dict().items()}
        t.model.load_state_dict(state)
