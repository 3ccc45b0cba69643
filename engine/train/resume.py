"""The 'last' checkpoint: everything needed to continue a run exactly where it stopped.

Saved after epochs (recording.py: every epoch unless writing costs more than a small share of
the training time, and always when the run ends): model tensors per node, optimizer state
(tensors in safetensors, the rest in JSON), the torch and shuffling generator states, the
schedule and early-stopping state and the history. Resuming restores all of it, so the continued loss curve is the one the
uninterrupted run would have drawn (bit-identical on the CPU).
"""
from __future__ import annotations

from pathlib import Path

from . import run_folder
from .faults import TrainError
from .optim import set_lr
from .state import RunProgress, TrainState


def last_checkpoint(state: TrainState, progress: RunProgress, epoch: int, weights: dict,
                    copy: bool = False) -> tuple[dict, dict, dict]:
    """(weights, info, state tensors) of the 'last' checkpoint of `epoch` (`weights`: the
    model's tensors per node). `copy`: a snapshot that training on does not change (to be
    written later)."""
    import copy as copying

    import torch

    tensors, optim_meta = split_optimizer_state(state.optimizer.state_dict())
    tensors["rng/torch"] = torch.get_rng_state()
    tensors["rng/shuffle"] = state.gen.get_state()
    if state.device.type == "cuda":
        tensors["rng/cuda"] = torch.cuda.get_rng_state(state.device)
    info = {"epoch": epoch, "global_step": progress.global_step, "optimizer": optim_meta,
            "schedule": state.schedule.state_dict(), "current_lr": progress.current_lr,
            "best": progress.best_row, "bad_epochs": progress.bad_epochs,
            "history": progress.history, "monitor": state.monitor}
    if state.gan is not None:  # a GAN's two optimisers and its k:1 step counter
        from .gan import checkpoint_state

        gan_tensors, info["gan"] = checkpoint_state(state.gan)
        tensors.update(gan_tensors)
    if copy:
        weights = copy_weights(weights)
        tensors = {k: v.clone() for k, v in tensors.items()}
        info = copying.deepcopy(info)
    return weights, info, tensors


def copy_weights(weights: dict) -> dict:
    """A copy of per-node tensors ({node id: {name: tensor}})."""
    return {nid: {k: t.detach().clone() for k, t in ts.items()} for nid, ts in weights.items()}


def save_last(run_dir: Path, state: TrainState, progress: RunProgress, epoch: int,
              weights: dict) -> Path:
    """Write the 'last' checkpoint of `epoch` (`weights`: the model's tensors per node)."""
    return run_folder.save_checkpoint(run_dir, "last",
                                      *last_checkpoint(state, progress, epoch, weights))


def load_resume(run_dir: Path, state: TrainState, config: dict) -> RunProgress:
    """Restore the model, optimizer, schedule and random generators from `run_dir`'s last
    checkpoint; returns the run's progress there."""
    import torch

    from ..compile import WeightsError, apply_weights

    run_dir = Path(run_dir)
    try:
        weights, tensors, info = run_folder.load_checkpoint(run_dir, "last")
        apply_weights(state.model, weights, strict=True)
        optim_tensors = {k: v for k, v in tensors.items() if k.startswith("optim/")}
        state.optimizer.load_state_dict(join_optimizer_state(optim_tensors,
                                                             info["optimizer"]))
        if state.gan is not None:
            from .gan import restore_state

            if "gan" not in info:
                raise ValueError("the checkpoint has no GAN optimiser state (written by an "
                               "older Studio): start a new run")
            restore_state(state.gan, tensors, info["gan"])
    except (OSError, KeyError, ValueError, WeightsError) as exc:
        raise TrainError(f"cannot resume from {run_dir}: {exc}", "error") from exc
    if "rng/torch" in tensors:
        torch.set_rng_state(tensors["rng/torch"])
    if "rng/shuffle" in tensors:
        state.gen.set_state(tensors["rng/shuffle"])
    if "rng/cuda" in tensors and state.device.type == "cuda":
        torch.cuda.set_rng_state(tensors["rng/cuda"], state.device)
    state.schedule.load_state_dict(info["schedule"])
    progress = RunProgress(
        current_lr=info.get("current_lr", config["optimizer"]["lr"]),
        start_epoch=int(info["epoch"]), global_step=int(info["global_step"]),
        history=list(info.get("history", [])), best_row=info.get("best"),
        bad_epochs=int(info.get("bad_epochs", 0)))
    set_lr(state.optimizer, progress.current_lr)
    es = config["early_stopping"]
    if es and es["restore_best"] and run_folder.has_checkpoint(run_dir, "best"):
        best, _, _ = run_folder.load_checkpoint(run_dir, "best")
        model = state.model
        kept = {k: v.detach().clone() for k, v in model.state_dict().items()}
        apply_weights(model, best)
        progress.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        model.load_state_dict(kept)
    return progress


def split_optimizer_state(state: dict) -> tuple[dict, dict]:
    """torch optimizer state_dict -> ({'optim/<param>/<key>': tensor}, JSON-able rest)."""
    import torch

    tensors, meta = {}, {"param_groups": state["param_groups"], "state": {}}
    for pid, entries in state["state"].items():
        row = meta["state"][str(pid)] = {}
        for key, value in entries.items():
            if torch.is_tensor(value):
                tensors[f"optim/{pid}/{key}"] = value.detach().cpu().contiguous()
                row[key] = {"__tensor__": True}
            else:
                row[key] = value
    return tensors, meta


def join_optimizer_state(tensors: dict, meta: dict) -> dict:
    state = {}
    for pid, entries in meta["state"].items():
        state[int(pid)] = {k: tensors[f"optim/{pid}/{k}"] if isinstance(v, dict) else v
                           for k, v in entries.items()}
    return {"state": state, "param_groups": meta["param_groups"]}


