"""Batches for training and evaluation.

Small datasets live on the device as whole tensors and a batch is one indexing operation there
(no per-step host copies, no DataLoader). Large datasets stay in host memory and stream through
a DataLoader whose "samples" are whole batches of indices (pinned memory on CUDA). Both follow
the same shuffling protocol (see config.py), so they produce the same batches.
"""
from __future__ import annotations

from collections.abc import Iterator


class DeviceData:
    """A split's inputs and prepared targets as tensors already on the training device."""

    streaming = False

    def __init__(self, x, ys: list, device, channels_last: bool = False):
        import torch

        x = x.to(device)
        if channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        self.x = x
        self.ys = [y.to(device) for y in ys]
        self.device = device

    def __len__(self) -> int:
        return len(self.x)

    def head(self, n: int):
        """The first n inputs, on the device (what activation snapshots run on)."""
        return self.x[:n].to(self.device)

    def batches(self, order, batch_size: int, rank: int = 0, world: int = 1) -> Iterator:
        """(x, [targets]) per batch of `batch_size` rows of `order` (a permutation on the CPU,
        or None for the stored order). With world > 1, this rank's shard of each batch."""
        if order is None and world == 1:
            for i in range(0, len(self.x), batch_size):
                yield self.x[i:i + batch_size], [y[i:i + batch_size] for y in self.ys]
            return
        import torch

        if order is None:
            order = torch.arange(len(self.x))
        x, ys = self.x, self.ys
        chunks = order.to(self.device).split(batch_size)
        if world == 1 and len(ys) == 1:   # the common case: no list comprehension (a call)
            y = ys[0]
            for idx in chunks:
                yield x[idx], [y[idx]]
            return
        for idx in chunks:
            if world > 1:
                idx = idx[rank::world]
            yield x[idx], [y[idx] for y in ys]


class _BatchIndexer:
    """Dataset whose items are whole batches: dataset[index_tensor] -> (x, [targets])."""

    def __init__(self, x, ys):
        self.x, self.ys = x, ys

    def __getitem__(self, idx):
        return self.x[idx], [y[idx] for y in self.ys]


class StreamData:
    """A split kept in host memory, streamed to the device batch by batch."""

    streaming = True

    def __init__(self, x, ys: list, device, channels_last: bool = False, num_workers: int = 0):
        self.x, self.ys = x, ys
        self.device = device
        self.channels_last = channels_last
        self.num_workers = num_workers

    def __len__(self) -> int:
        return len(self.x)

    def head(self, n: int):
        return self.x[:n].to(self.device)

    def batches(self, order, batch_size: int, rank: int = 0, world: int = 1) -> Iterator:
        import torch
        from torch.utils.data import DataLoader

        if order is None:
            order = torch.arange(len(self.x))
        chunks = [idx[rank::world] if world > 1 else idx for idx in order.split(batch_size)]
        cuda = torch.device(self.device).type == "cuda"
        loader = DataLoader(_BatchIndexer(self.x, self.ys), batch_size=None, sampler=chunks,
                            num_workers=self.num_workers, pin_memory=cuda,
                            generator=torch.Generator())  # leaves the global RNG alone
        for xb, ys in loader:
            xb = xb.to(self.device, non_blocking=cuda)
            if self.channels_last and xb.dim() == 4:
                xb = xb.contiguous(memory_format=torch.channels_last)
            yield xb, [y.to(self.device, non_blocking=cuda) for y in ys]


class Augmented:
    """A split held in memory whose shuffled passes (training) are augmented batch by batch:
    normalized inputs -> raw values -> `transform` (engine.data.augment.BatchTransform) with
    one seed per batch from a generator seeded with `seed`; evaluation passes (the stored
    order) are left as they are."""

    def __init__(self, data, transform, seed: int):
        import torch

        self.data, self.transform = data, transform
        self.gen = torch.Generator().manual_seed(int(seed))
        self.streaming, self.x, self.device = data.streaming, data.x, data.device

    def __len__(self) -> int:
        return len(self.data)

    def head(self, n: int):
        return self.data.head(n)

    def batches(self, order, batch_size: int, rank: int = 0, world: int = 1) -> Iterator:
        import math

        from ..data.stream import batch_seeds

        if order is None:
            yield from self.data.batches(order, batch_size, rank, world)
            return
        seeds = batch_seeds(self.gen, math.ceil(len(order) / batch_size))
        for seed, (xb, ys) in zip(seeds, self.data.batches(order, batch_size, rank, world)):
            yield self.transform.on_normalized(xb, seed), ys


def make_data(x, ys: list, device, on_device: bool, channels_last: bool = False,
              num_workers: int = 0):
    """DeviceData or StreamData for tensors `x`, `ys` (on the CPU)."""
    if on_device:
        return DeviceData(x, ys, device, channels_last)
    return StreamData(x, ys, device, channels_last, num_workers)
