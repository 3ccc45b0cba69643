"""Streaming a split from disk through a `torch.utils.data.DataLoader` (torch).

Each DataLoader item is a whole batch: the main process hands a worker the batch's sample
indices (from the trainer's seeded permutation, so batches are the same as in memory) and a
seed for its augmentation; the worker reads and decodes the samples (images are decoded and
resized there), augments them, normalizes them and returns the tensors. Results do not
depend on the number of workers.

`SampleCache` keeps decoded samples in shared memory, up to the dataset's memory budget:
whichever process reads a sample first stores it there for every later epoch.
"""
from __future__ import annotations

import math

import numpy as np

_TORCH_DTYPES = {"uint8": "uint8", "float32": "float32"}


class SampleCache:
    """Decoded samples of a source in shared memory: the first K samples of `order` (the
    training split's, read every epoch), K being what fits in `capacity` bytes; a flag per
    slot says it is filled. Slots are assigned up front, so processes never race for one."""

    def __init__(self, source, capacity_bytes: float, order=None):
        import torch

        per = max(1, source.sample_bytes)
        order = np.arange(source.n) if order is None else np.asarray(order, np.int64)
        self.slots = int(min(len(order), capacity_bytes // per))
        self.slot_of = np.full(source.n, -1, np.int64)
        self.slot_of[order[:self.slots]] = np.arange(self.slots)
        dtype = getattr(torch, _TORCH_DTYPES.get(source.dtype.name, "float32"))
        self.data = torch.empty((self.slots, *source.sample_shape), dtype=dtype).share_memory_()
        self.filled = torch.zeros(self.slots, dtype=torch.uint8).share_memory_()

    @property
    def nbytes(self) -> int:
        return self.data.numel() * self.data.element_size()

    def read(self, indices: np.ndarray, reader) -> np.ndarray:
        data, filled = self.data.numpy(), self.filled.numpy()
        slots = self.slot_of[indices]
        hit = np.zeros(len(indices), bool)
        hit[slots >= 0] = filled[slots[slots >= 0]] == 1
        miss = np.flatnonzero(~hit)
        out = None
        if len(miss):
            fresh = reader(indices[miss])
            out = np.empty((len(indices), *fresh.shape[1:]), fresh.dtype)
            out[miss] = fresh
            store = slots[miss] >= 0
            data[slots[miss][store]] = fresh[store]
            filled[slots[miss][store]] = 1   # after the data: a reader never sees half a sample
        if out is None:
            out = np.empty((len(indices), *data.shape[1:]), data.dtype)
        if hit.any():
            out[hit] = data[slots[hit]]
        return out


def attach_cache(view, budget_mb: float) -> SampleCache | None:
    """Give the view's source a shared cache of at most `budget_mb` for the view's samples
    (once per source; the training split's view should come first)."""
    source = view.source
    if source.cache is None and budget_mb > 0 and source.cacheable:
        source.cache = SampleCache(source, budget_mb * 2**20, view.index)
    return source.cache


class BatchReader:
    """The DataLoader's dataset: item (indices, seed) -> (x, [targets]) tensors; a batch with
    a seed goes through `transform` (training augmentation), one without is read as stored
    (the view's own normalization)."""

    def __init__(self, view, ys: list, transform=None):
        self.view, self.ys, self.transform = view, ys, transform

    def __getitem__(self, item):
        import torch

        idx, seed = item
        idx = np.asarray(idx, np.int64)
        if self.transform is None or seed is None:
            x = torch.from_numpy(np.ascontiguousarray(self.view[idx]))
        else:
            raw = torch.from_numpy(np.ascontiguousarray(self.view.raw(idx)))
            x = self.transform(raw, seed)
        t = torch.from_numpy(idx)
        return x, [y[t] for y in self.ys]


def batch_plan(order, batch_size: int, rank: int = 0, world: int = 1, seeds=None) -> list:
    """[(indices, seed)] per batch of `order` (a CPU tensor); seed None: not augmented."""
    chunks = [c[rank::world] if world > 1 else c for c in order.split(batch_size)]
    seeds = seeds if seeds is not None else [None] * len(chunks)
    return [(c.numpy(), s) for c, s in zip(chunks, seeds)]


# modules a fork-server worker needs, imported once by the server instead of by every worker
WORKER_PRELOAD = ["engine.data.augment", "engine.data.stream", "engine.data.lazy",
                  "engine.data.images", "PIL.Image"]


class DiskData:
    """A split streamed from disk: the trainer's batches through a DataLoader with worker
    processes (pinned memory on CUDA). The workers are started once, on the first pass, and
    serve every later pass (epochs, evaluations) until `close()` or the object goes away."""

    streaming = True
    from_disk = True
    persistent_workers = True   # False: new workers every pass (for the benchmark)

    def __init__(self, view, ys: list, device, channels_last: bool = False,
                 num_workers: int = 0):
        self.x, self.ys = view, ys
        self.device, self.channels_last = device, channels_last
        self.num_workers = num_workers
        self.transform = self._seeds = None
        self._loader = self._plan = None

    def augment(self, transform, seed: int) -> None:
        """Augment the batches of every shuffled pass (training; evaluation passes, in the
        stored order, are not) with `transform`, one seed per batch drawn from a generator
        seeded with `seed` (the same seeds as engine.train.batches.Augmented)."""
        import torch

        self.close()   # the workers hold the dataset they were started with
        self.transform, self._seeds = transform, torch.Generator().manual_seed(int(seed))

    def __len__(self) -> int:
        return len(self.x)

    def describe(self) -> str:
        """One sentence for the user: that the data streams, with how many workers and how
        much of it is cached."""
        cache = self.x.source.cache
        cached = f", {cache.nbytes / 2**20:,.1f} MB of decoded samples cached" if cache else ""
        workers = f"{self.num_workers} worker process{'es' if self.num_workers != 1 else ''}" \
            if self.num_workers else "no worker processes (training.num_workers)"
        return f"the dataset streams from disk batch by batch: {workers}{cached}"

    def head(self, n: int):
        """The first n samples as a tensor on the device (for activation snapshots)."""
        import torch

        return torch.from_numpy(np.ascontiguousarray(self.x[:n])).to(self.device)

    def batches(self, order, batch_size: int, rank: int = 0, world: int = 1, seeds=None):
        import torch

        if order is None:
            order = torch.arange(len(self.x))   # evaluation: as stored, not augmented
        elif self.transform is not None and seeds is None:
            seeds = batch_seeds(self._seeds, math.ceil(len(order) / batch_size))
        loader, plan = self._loader_for_pass()
        plan[:] = batch_plan(order, batch_size, rank, world, seeds)
        cuda = torch.device(self.device).type == "cuda"
        for xb, ys in loader:
            xb = xb.to(self.device, non_blocking=cuda)
            if self.channels_last and xb.dim() == 4:
                xb = xb.contiguous(memory_format=torch.channels_last)
            yield xb, [y.to(self.device, non_blocking=cuda) for y in ys]

    def _loader_for_pass(self):
        """The DataLoader and its plan (the list of batches it serves, refilled each pass)."""
        if self._loader is not None and self.persistent_workers:
            return self._loader, self._plan
        import multiprocessing

        import torch
        from torch.utils.data import DataLoader

        workers = self.num_workers
        context = None
        if workers:
            # a fork of a process with running threads (the app's GUI and trainer, torch's
            # pool) can deadlock in the child: workers start from a clean fork server, which
            # imports what they need once
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(WORKER_PRELOAD)
        plan: list = []
        cuda = torch.device(self.device).type == "cuda"
        loader = DataLoader(BatchReader(self.x, self.ys, self.transform), batch_size=None,
                            sampler=plan, num_workers=workers, pin_memory=cuda,
                            generator=torch.Generator(),  # leaves the global RNG alone
                            prefetch_factor=2 if workers else None,
                            persistent_workers=bool(workers) and self.persistent_workers,
                            multiprocessing_context=context)
        self._loader, self._plan = loader, plan
        return loader, plan

    def close(self) -> None:
        """Stop the worker processes (they also stop when this object is collected)."""
        loader, self._loader, self._plan = self._loader, None, None
        iterator = getattr(loader, "_iterator", None)
        if iterator is not None and hasattr(iterator, "_shutdown_workers"):
            iterator._shutdown_workers()


def batch_seeds(generator, n: int) -> list[int]:
    """n augmentation seeds, one per batch, from `generator`."""
    import torch

    return torch.randint(0, 2**62, (n,), generator=generator).tolist()


__all__ = ["BatchReader", "DiskData", "SampleCache", "attach_cache", "batch_plan",
           "batch_seeds"]
