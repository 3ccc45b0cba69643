"""Generative examples, measured (slow: minutes; run on demand, not in CI).

  vae_digits   validation reconstruction MSE next to a plain autoencoder with the same
               2-number code and the same budget
  gan_digits   per training seed: the share of 500 generated samples that digits_cnn (trained
               here on real digits with the example's own settings) gives one class with
               probability >= 0.9, the classes it sees, the samples' spread relative to the
               real data's (the mode-collapse hint), the last epoch's D and G losses and the
               training's CPU seconds; the classifier's share on real validation digits is the
               yardstick
  gan_mnist    with --mnist-standin: the same figures for gan_mnist trained on MNIST's
               stand-in (the 8x8 digits scaled to 28x28 in MNIST's files, installed as the MNIST
               cache of this process: tests/mnist_cache.py); its samples are scaled back to 8x8
               (border dropped, 3x3 blocks averaged) for digits_cnn to judge. Not real MNIST:
               it shows the 28x28 DCGAN learns digits, not how well it does on MNIST

Run: python -m bench.generative_quality [--epochs N] [--seeds 0 1 2] [--skip-vae]
                                        [--mnist-standin] [--keep FILE.nnproj]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tempfile

import torch
import torch.nn.functional as F

from bench.common import print_table, write_json
from engine.examples import example_paths
from engine.project import load_project
from engine.train.events import GanSnapshot
from engine.train.gan import confident_share
from engine.train.trainer import Trainer


def _fit(name: str, epochs: int | None, edit=None, callbacks=()):
    project = load_project(example_paths()[name], weights=False)
    if edit:
        edit(project)
    trainer = Trainer(project, "cpu", callbacks=list(callbacks), run_dir=False, epochs=epochs)
    start = time.process_time()
    result = trainer.fit()
    assert result.status == "completed", result.error
    return trainer, result, time.process_time() - start


def vae_rows(epochs: int) -> list[dict]:
    def two_number_code(p):
        p.graph.set_param(p.graph.by_name("code").id, "out_features", 2)
        p.training["metrics"] = ["mse"]

    rows = []
    for name, edit in (("vae_digits", None), ("autoencoder", two_number_code)):
        _, result, _ = _fit(name, epochs, edit)
        rows.append({"model": name, "epochs": epochs, "code": 2,
                     "val_mse": result.history[-1]["val_mse"]})
    return rows


def classifier():
    """digits_cnn trained as shipped, and its confident share on real validation digits."""
    cnn, result, _ = _fit("digits_cnn", None)
    model = cnn.state.model.eval()
    share, _ = confident_share(cnn.state.val_data.x, model)
    return model, {"model": "digits_cnn (real val digits)", "confident": share,
                   "val_acc": result.history[-1]["val_accuracy"]}


def standin_mnist(folder: Path) -> None:
    """Install MNIST's stand-in (all 1797 digits at 28x28) as this process's MNIST cache."""
    from tests import mnist_cache

    mnist_cache.install(folder, mnist_cache.write_cache(folder, train=1500, test=297))


def to_8x8(images: torch.Tensor) -> torch.Tensor:
    """Undo the stand-in's scaling: drop the 2-pixel border, average each 3x3 block."""
    return F.avg_pool2d(images[..., 2:26, 2:26], 3)


def gan_row(epochs: int | None, seed: int, judge, name: str = "gan_digits",
            keep: Path | None = None) -> dict:
    snaps = []

    def reseed(p):
        p.training["seed"] = seed

    gan, result, cpu = _fit(name, epochs, reseed,
                            [lambda e: isinstance(e, GanSnapshot) and snaps.append(e)])
    g = gan.state.gan
    gan.state.model.eval()
    with torch.no_grad():
        fake = g.generator(torch.randn(500, *g.noise_shape,
                                       generator=torch.Generator().manual_seed(0)))
    if fake.shape[-1] == 28:
        fake = to_8x8(fake)
    share, counts = confident_share(fake, judge)
    if keep is not None:
        _save_trained(gan, name, keep)
    return {"model": name, "seed": seed, "epochs": len(result.history),
            "confident": share, "classes_seen": sum(c > 0 for c in counts),
            "largest_class": max(counts) / len(fake), "spread": snaps[-1].spread,
            "collapse_hint": snaps[-1].collapse, "d_loss": snaps[-1].d_loss,
            "g_loss": snaps[-1].g_loss, "cpu_s": cpu}


def _save_trained(trainer, name: str, path: Path) -> None:
    from engine import node_state, save_project

    project = load_project(example_paths()[name], weights=False)
    project.graph.weights = node_state(trainer.state.model)
    save_project(project, path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, help="GAN epochs (default: the example's)")
    ap.add_argument("--vae-epochs", type=int, default=30)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--skip-vae", action="store_true")
    ap.add_argument("--mnist-standin", action="store_true",
                    help="gan_mnist on the digits scaled to 28x28 instead of gan_digits")
    ap.add_argument("--keep", type=Path, help="save the last trained GAN (with its weights) "
                    "as this project file")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    name = "gan_digits"
    if args.mnist_standin:
        name = "gan_mnist"
        standin_mnist(Path(tempfile.mkdtemp(prefix="mnist-standin-")))
    vae = [] if args.skip_vae else vae_rows(args.vae_epochs)
    if vae:
        print_table(vae, ["model", "epochs", "code", "val_mse"])
    judge, yardstick = classifier()
    gan = [gan_row(args.epochs, seed, judge, name, args.keep) for seed in args.seeds]
    print_table([yardstick], ["model", "confident", "val_acc"])
    print_table(gan, ["model", "seed", "epochs", "confident", "classes_seen", "largest_class",
                      "spread", "collapse_hint", "d_loss", "g_loss", "cpu_s"])
    print(write_json("generative_quality", {"vae": vae, "classifier": yardstick, "gan": gan}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
