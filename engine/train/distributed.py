"""Entry point of each torchrun worker of `studio train FILE --nproc N`.

`python -m torch.distributed.run --standalone --nproc_per_node N -m engine.train.distributed
FILE [options]` runs `studio train` in every process; the Trainer sees WORLD_SIZE > 1, joins
the process group (gloo on CPU, nccl on CUDA), wraps the model in DistributedDataParallel and
gives each process its shard of every global batch (rank r takes rows r, r+N, ... of the
batch), so N processes with batch size B follow the same curve as one process with batch B.
Only rank 0 prints, logs and writes checkpoints. When a batch does not split evenly (the last
one of an epoch, or a batch size not divisible by N), the shards' mean losses are averaged with
equal weight, a small difference from one process on that batch. Dropout masks differ from a
single-process run (each process draws its own). Pause is ignored under torchrun.
"""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from ..cli import main as cli_main

    return cli_main(["train", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
