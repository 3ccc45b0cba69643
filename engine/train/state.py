"""What a run is made of (TrainState, built once by setup.build) and where it is
(RunProgress: what the 'last' checkpoint saves and resuming restores). The Trainer holds one
of each; the step, loop, evaluation and checkpoint code read them.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class TrainState:
    """The pieces of a run, as set-up builds them from the project and the config."""

    # where it runs
    device: Any                      # torch.device
    rank: int                        # this process's rank in a distributed run (else 0)
    world: int                       # number of processes (1: not distributed)
    # data
    splits: Any                      # the dataset's DataSplits (numpy), as loaded
    input_dtype: str                 # 'float' | 'long' (token ids)
    train_data: Any                  # DeviceData / StreamData batches of each split
    val_data: Any | None
    test_data: Any | None
    data_on_device: bool             # the splits were copied to the device once
    sample_x: Any | None             # the fixed sample activation snapshots run on
    gen: Any                         # torch.Generator that shuffles the training data
    # the model
    model: Any                       # the compiled nn.Module
    net: Any                         # what the step calls: model, or DDP / torch.compile of it
    eval_net: Any                    # what evaluation calls
    node_modules: dict               # node id -> submodule
    node_params: dict                # node id -> its trainable parameters
    frozen: list[str]                # node ids whose weights are not trained
    init_report: Any | None          # what fine-tuning weights were loaded (weights.py)
    channels_last: bool
    # one entry per Output node, in the model's output order
    output_ids: list[str]
    output_names: list[str]
    out_shapes: list[tuple]
    losses: list[str]                # loss names ('cd': contrastive divergence)
    loss_fns: list[Callable | None]
    loss_weights: list[float]
    single_loss: Callable | None     # the common case: one output with weight 1
    metric_names: list[str]
    keep_train_outputs: bool         # collect training outputs for per-epoch train metrics
    rbm: Any | None                  # the RBM module when training by contrastive divergence
    # optimisation
    trainable_params: list
    optimizer: Any
    schedule: Any                    # optim.Schedule: the learning rate per step / epoch
    steps_per_epoch: int
    penalty_terms: list              # regularization terms (weights.penalty_terms)
    clipping: bool                   # gradient clipping is configured
    monitor: str                     # the metric early stopping and 'best' follow
    autocast: Callable = contextlib.nullcontext  # mixed precision context (CUDA)
    scaler: Any | None = None        # GradScaler for fp16
    fine_tune: Any | None = None     # finetune.FineTune: the backbone frozen for K epochs
    kl_modules: list = field(default_factory=list)  # a VAE's Sampling modules (vae.py)
    epoch_views: list = field(default_factory=list)  # epoch -> event (vae.latent_views)
    gan: Any | None = None           # gan.GanState: a GAN's halves and their optimisers

    @property
    def amp(self) -> bool:
        return self.autocast is not contextlib.nullcontext

    def penalty(self):
        """The regularization penalty of the current weights (a tensor)."""
        from .weights import penalty

        return penalty(self.penalty_terms)


@dataclass
class RunProgress:
    """How far a run got: saved in the 'last' checkpoint, restored when resuming."""

    current_lr: float
    start_epoch: int = 0             # epochs done before this fit() (resumed runs)
    global_step: int = 0
    history: list[dict] = field(default_factory=list)  # one metrics row per epoch
    best_row: dict | None = None     # the best epoch's row so far
    bad_epochs: int = 0              # epochs since the monitor last improved
    best_state: dict | None = None   # the best weights (when early stopping restores them)
