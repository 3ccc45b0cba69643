"""`studio train FILE`: train a project headless, with a progress bar and per-epoch lines."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

from ..train.events import BatchEnded, EpochEnded, RunFailed, RunFinished, RunStarted


def register(sub) -> None:
    p = sub.add_parser("train", help="train a project (progress on stderr, epochs on stdout)")
    p.add_argument("file", help="a .nnproj project file")
    p.add_argument("--epochs", type=int, help="total number of epochs")
    p.add_argument("--batch-size", type=int, help="global batch size")
    p.add_argument("--lr", type=float, help="learning rate")
    p.add_argument("--device", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--nproc", type=int, default=1,
                   help="processes for distributed data-parallel training (torchrun)")
    p.add_argument("--seed", type=int, help="random seed")
    p.add_argument("--log-json", metavar="PATH",
                   help="write one JSON object per epoch to PATH")
    p.add_argument("--resume", metavar="RUN",
                   help="continue a run from its last checkpoint (run-N, N, 'last' or a path)")
    p.add_argument("--init-weights", metavar="PATH",
                   help="start from these weights (.safetensors or a torch state dict)")
    p.add_argument("--no-save", action="store_true",
                   help="do not save the trained weights beside the project")
    p.add_argument("--replace-weights", action="store_true",
                   help="save the run's weights even when the project's saved weights do "
                   "better on the validation data (by default those are kept)")
    p.add_argument("--force", action="store_true",
                   help="replace an existing --log-json file")
    p.add_argument("--allow-outside-data", action="store_true",
                   help="read data files outside the project folder (a project file can name "
                   "any path: allow this only for projects you trust)")
    p.add_argument("--stream", action="store_true",
                   help="stream the dataset from disk batch by batch (CSV, .npy, image "
                   "folders) even when it fits its memory budget; larger datasets always do")
    p.add_argument("--workers", type=int, metavar="N",
                   help="DataLoader worker processes that read, decode and augment streamed "
                   "batches (training.num_workers)")
    p.add_argument("--threads", type=int, metavar="N",
                   help="torch threads (default: the cores other programs leave free, "
                   "measured at the start; OMP_NUM_THREADS also sets it)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _forwarded_args(args) -> list[str]:
    """The command line of a torchrun worker: the same options without --nproc."""
    out = [args.file]
    for flag, value in (("--epochs", args.epochs), ("--batch-size", args.batch_size),
                        ("--lr", args.lr), ("--device", args.device), ("--seed", args.seed),
                        ("--log-json", args.log_json), ("--resume", args.resume),
                        ("--init-weights", args.init_weights), ("--workers", args.workers),
                        ("--threads", args.threads)):
        if value is not None:
            out += [flag, str(value)]
    out += [f for f, on in (("--no-save", args.no_save), ("--quiet", args.quiet),
                            ("--replace-weights", args.replace_weights),
                            ("--force", args.force), ("--stream", args.stream),
                            ("--allow-outside-data", args.allow_outside_data)) if on]
    return out


def _gpu_count() -> int:
    try:
        import torch

        return torch.cuda.device_count()
    except Exception:  # noqa: BLE001 - no usable CUDA
        return 0


def launch_distributed(args) -> int:
    """Run this command in `args.nproc` processes through torch.distributed.run."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc_per_node={args.nproc}", "-m", "engine.cli.train",
           *_forwarded_args(args)]
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    return subprocess.call(cmd, env=env)


class Progress:
    """Progress bar on stderr (\\r updates on a TTY), one line per epoch on stdout."""

    def __init__(self, quiet: bool = False, log_json: str | None = None, append=False,
                 file: str | None = None):
        self.file = file
        self.tty = sys.stderr.isatty() and not quiet
        self.quiet = quiet
        # kept open for the whole run (one line per epoch), closed by close()
        self.log = open(log_json, "a" if append else "w", encoding="utf-8") if log_json else None  # noqa: SIM115
        self.epochs = 0
        self.t0 = time.perf_counter()

    def __call__(self, ev) -> None:
        handler = {RunStarted: self.on_started, BatchEnded: self.on_batch,
                   EpochEnded: self.on_epoch, RunFailed: self.on_failed,
                   RunFinished: self.on_finished}.get(type(ev))
        if handler:
            handler(ev)

    def on_started(self, ev: RunStarted) -> None:
        self.epochs = ev.epochs
        where = f" -> {ev.run_dir}" if ev.run_dir else ""
        extra = f", {ev.world_size} processes" if ev.world_size > 1 else ""
        print(f"training on {ev.device}{extra}: {ev.train_size} samples, "
              f"{ev.steps_per_epoch} steps/epoch{where}", file=sys.stderr)
        if ev.init_weights:
            print(f"init weights: {ev.init_weights}", file=sys.stderr)
        for note in ev.notes:
            print(f"note: {note}", file=sys.stderr)

    def on_batch(self, ev: BatchEnded) -> None:
        if not self.tty:
            return
        total = ev.steps_per_epoch or 1
        frac = min(ev.step / total, 1.0)
        bar = "#" * int(frac * 20) + "." * (20 - int(frac * 20))
        sys.stderr.write(f"\repoch {ev.epoch}/{self.epochs} [{bar}] {ev.step}/{total} "
                         f"loss {ev.loss:.4f}  {ev.samples_per_s:.0f} samples/s  "
                         f"ETA {ev.eta_s:.0f}s ")
        sys.stderr.flush()

    def clear_bar(self) -> None:
        """Wipe the progress bar's line (a TTY) before another line is printed."""
        if self.tty:
            sys.stderr.write("\r" + " " * 79 + "\r")

    def on_epoch(self, ev: EpochEnded) -> None:
        self.clear_bar()
        row = ev.metrics
        parts = [f"epoch {ev.epoch}/{self.epochs}", f"loss {row['loss']:.4f}"]
        parts += [f"{k} {v:.4f}" for k, v in row.items()
                  if k.startswith("val_") and isinstance(v, (int, float))]
        parts += [f"lr {row['lr']:.3g}", f"{row['elapsed_s']:.1f}s"]
        print("  ".join(parts), flush=True)
        if self.log:
            keep = {k: v for k, v in row.items() if not isinstance(v, (list, dict))}
            self.log.write(json.dumps(keep) + "\n")
            self.log.flush()

    def on_failed(self, ev: RunFailed) -> None:
        if self.tty:
            sys.stderr.write("\n")
        from .common import error

        error(ev.message, self.file)

    def on_finished(self, ev: RunFinished) -> None:
        note = f", best epoch {ev.best_epoch}" if ev.best_epoch else ""
        print(f"finished ({ev.reason}) after {ev.epochs_run} epoch(s){note}"
              + (f"; run folder {ev.run_dir}" if ev.run_dir else ""), file=sys.stderr)

    def close(self) -> None:
        if self.log:
            self.log.close()


class HealthLines:
    """A trainer callback printing the run's health warnings (engine.teach.health: dead ReLUs,
    vanishing or exploding gradients, saturated sigmoids) on stderr, each new one once as one
    line, the way the app shows them on the canvas."""

    def __init__(self, trainer, progress: Progress):
        from ..teach.health import HealthMonitor

        self.trainer, self.progress = trainer, progress
        self.printed: set[tuple[str, str]] = set()    # (node id, kind)
        self.monitor = HealthMonitor(lambda: trainer.state, trainer.project.graph, self.show)

    def __call__(self, event) -> None:
        if self.trainer.rank == 0:
            self.monitor(event)

    def show(self, warnings) -> None:
        for w in warnings:
            if (w.node_id, w.kind) not in self.printed:
                self.printed.add((w.node_id, w.kind))
                self.progress.clear_bar()
                print(f"warning: {w.message}", file=sys.stderr, flush=True)


def _stop_on_ctrl_c(trainer):
    """First Ctrl+C: stop after the current batch (checkpoints and weights are kept);
    a second one interrupts at once. Returns a function restoring the old handler."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum, frame):
        if trainer.control.stopped:
            raise KeyboardInterrupt
        print("\nstopping after this batch (Ctrl+C again to abort)", file=sys.stderr)
        trainer.stop()
    old = signal.signal(signal.SIGINT, handler)
    return lambda: signal.signal(signal.SIGINT, old)


def check_log_json(path: str, append: bool, force: bool) -> str | None:
    """Why --log-json PATH cannot be written (None when it can): a folder, a missing folder,
    something that is not a regular file (a FIFO would block), or an existing file that would
    be replaced without --force (a resumed run appends to it instead)."""
    import stat

    from ..guard.overwrite import OverwriteError, check_output
    from ..guard.text import quote

    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        return f"--log-json {quote(path)}: {exc.strerror or exc}"
    if st is not None and not stat.S_ISDIR(st.st_mode) and not stat.S_ISREG(st.st_mode):
        return f"--log-json {quote(path)} is not a regular file (a FIFO or a device)"
    if append and st is not None and stat.S_ISREG(st.st_mode):
        return None
    try:
        check_output(path, force=force, what="--log-json file")
    except OverwriteError as exc:
        return str(exc)
    return None


def worse_than_saved(trainer, saved: dict) -> str | None:
    """Why the weights the run ends with do worse than `saved` (the project's weights) on the
    validation split (the training split without one), or None when they do at least as
    well, or when `saved` belongs to another graph and cannot be compared."""
    import math

    from ..compile import apply_weights

    split = "val" if trainer.state.val_data is not None and len(trainer.state.val_data) \
        else "train"
    new = {nid: {k: t.detach().clone() for k, t in tensors.items()}   # the model's own
           for nid, tensors in trainer.node_state().items()}            # tensors change below
    new_loss = trainer.evaluate(split, metrics=[])["loss"]
    try:
        if apply_weights(trainer.model, saved):
            return None  # saved for nodes that are gone: not this model's weights
        old_loss = trainer.evaluate(split, metrics=[])["loss"]
    except Exception:  # noqa: BLE001 - weights that do not fit are not comparable
        return None
    finally:
        apply_weights(trainer.model, new)
    if not math.isfinite(old_loss) or (math.isfinite(new_loss) and new_loss <= old_loss):
        return None
    name = "validation" if split == "val" else "training"
    return (f"this run ends with {name} loss {new_loss:.4g}, worse than theirs "
            f"({old_loss:.4g})")


def _save_weights(project, trainer, args) -> int:
    """Save the run's weights with the project (the old ones become the previous version),
    unless the project's own weights do better and --replace-weights is not given. An exit
    code: 0, or 1 after printing the error."""
    from ..project import ProjectError, save_project
    from .common import error

    saved = project.graph.weights
    if saved and not args.replace_weights and (why := worse_than_saved(trainer, saved)):
        where = f" are in {trainer.run_dir}" if trainer.run_dir else " were not saved"
        print(f"note: kept the project's weights ({project.weights_path().name}): {why}; "
              f"this run's weights{where} (--replace-weights saves them anyway)",
              file=sys.stderr)
        return 0
    project.graph.weights = trainer.node_state()
    try:
        save_project(project)  # project and weights as a pair
    except (OSError, ProjectError) as exc:
        return error(f"cannot save the weights: {exc}", args.file)
    print(f"saved weights to {project.weights_path()}", file=sys.stderr)
    return 0


def run(args) -> int:
    from .common import error, open_project

    if args.threads is not None and args.threads < 1:
        return error(f"--threads {args.threads}: choose 1 or more")
    if args.nproc < 1 or args.nproc > max(1, os.cpu_count() or 1, _gpu_count()):
        return error(f"--nproc {args.nproc}: choose 1 to {max(os.cpu_count() or 1, _gpu_count())}"
                     " (one process per CPU core or GPU)")
    rank0 = os.environ.get("RANK", "0") == "0"  # only rank 0 writes the log
    if args.log_json and rank0 and (why := check_log_json(args.log_json, bool(args.resume),
                                                          args.force)):
        return error(why)
    if args.nproc > 1 and "LOCAL_RANK" not in os.environ:
        return launch_distributed(args)

    project = open_project(args.file, args.allow_outside_data)
    if project is None:
        return 1
    from ..train.config import ConfigError
    from ..train.run_folder import find_run
    from ..train.trainer import Trainer

    rank = int(os.environ.get("RANK", "0"))
    try:
        progress = Progress(args.quiet or rank != 0, args.log_json if rank == 0 else None,
                            append=bool(args.resume), file=args.file)
    except OSError as exc:
        return error(f"cannot write --log-json {args.log_json}: {exc.strerror or exc}")
    overrides = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
                 "seed": args.seed, "num_workers": args.workers}
    if args.stream:
        project.dataset = {**(project.dataset or {}), "stream": True}
    try:
        resume = find_run(project.runs_dir(), args.resume) if args.resume else None
        trainer = Trainer(project, args.device or "auto", [progress], resume_from=resume,
                          init_weights=args.init_weights, **overrides)
    except (ConfigError, FileNotFoundError) as exc:
        progress.close()
        return error(exc, args.file)
    trainer.callbacks.append(HealthLines(trainer, progress))
    restore = _stop_on_ctrl_c(trainer)
    from ..threads import use_free_cores

    restore_threads = use_free_cores(threads=args.threads)
    try:
        result = trainer.fit()
        if result.status == "failed":
            return 1
        if trainer.rank == 0 and trainer.state.test_data is not None:
            test = trainer.evaluate("test")
            print("test  " + "  ".join(f"{k} {v:.4f}" for k, v in test.items()
                                       if isinstance(v, (int, float))), flush=True)
        if trainer.rank == 0 and not args.no_save and _save_weights(project, trainer, args):
            return 1
        return 130 if result.status == "stopped" else 0
    finally:
        restore_threads()
        restore()
        progress.close()
        trainer.close()


if __name__ == "__main__":  # each torchrun process of `studio train --nproc N`
    from . import main

    sys.exit(main(["train", *sys.argv[1:]]))
