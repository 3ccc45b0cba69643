"""Distributed data-parallel training (torchrun), the engine side.

`studio train FILE --nproc N` starts N processes through torch.distributed.run, each running
`studio train` (engine/cli/train.py); in each, the Trainer sees WORLD_SIZE > 1, joins the
process group (gloo on CPU, nccl on CUDA), wraps the model in DistributedDataParallel and gives
each process its shard of every global batch (rank r takes rows r, r+N, ... of the batch), so N
processes with batch size B follow the same curve as one process with batch B. Only rank 0
prints, logs and writes checkpoints. When a batch does not split evenly (the last one of an
epoch, or a batch size not divisible by N), the shards' mean losses are averaged with equal
weight, a small difference from one process on that batch. Dropout masks differ from a
single-process run (each process draws its own). Pause is ignored under torchrun.
"""
from __future__ import annotations

import os


def join(device):
    """Join the torchrun process group when WORLD_SIZE > 1. Returns (device, rank, world):
    on CUDA the device becomes this process's (LOCAL_RANK)."""
    import torch

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return device, 0, 1
    import torch.distributed as dist

    if device.type == "cuda":
        local = int(os.environ.get("LOCAL_RANK", "0"))
        device = torch.device(f"cuda:{local}")
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device, dist.get_rank(), dist.get_world_size()


def sum_over_ranks(values: list[float], device) -> list[float]:
    """The element-wise sum of `values` over all processes (float64)."""
    import torch
    import torch.distributed as dist

    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def average_grads(params, world: int) -> None:
    """Average the gradients of `params` over all processes (for steps that bypass DDP)."""
    import torch.distributed as dist

    for p in params:
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad /= world


def leave() -> None:
    """Release the process group, after all ranks arrived (or 60 s on gloo: a rank that
    failed never arrives). gloo aborts a rank whose group is torn down while another rank is
    still evaluating or writing."""
    import torch.distributed as dist

    if not dist.is_initialized():
        return
    from datetime import timedelta

    try:
        if dist.get_backend() == "gloo":
            dist.monitored_barrier(timeout=timedelta(seconds=60))
        else:
            dist.barrier()
    except RuntimeError:
        pass
    dist.destroy_process_group()
