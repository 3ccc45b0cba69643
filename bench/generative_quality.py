"""Generative examples, measured (slow: minutes; run on demand, not in CI).

  vae_digits   validation reconstruction MSE next to a plain autoencoder with the same
               2-number code and the same budget
  gan_digits   the share of 500 generated samples that digits_cnn (trained here on real
               digits) gives one class with probability >= 0.9, the classes it sees, and the
               samples' spread relative to the real data's (the mode-collapse hint)

Run: python -m bench.generative_quality [--epochs N]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from bench.common import print_table, write_json
from engine.examples import example_paths
from engine.project import load_project
from engine.train.events import GanSnapshot
from engine.train.trainer import Trainer


def _fit(name: str, epochs: int, edit=None, callbacks=()):
    project = load_project(example_paths()[name], weights=False)
    if edit:
        edit(project)
    trainer = Trainer(project, "cpu", callbacks=list(callbacks), run_dir=False, epochs=epochs)
    result = trainer.fit()
    assert result.status == "completed", result.error
    return trainer, result


def vae_rows(epochs: int) -> list[dict]:
    def two_number_code(p):
        p.graph.set_param(p.graph.by_name("code").id, "out_features", 2)
        p.training["metrics"] = ["mse"]

    rows = []
    for name, edit in (("vae_digits", None), ("autoencoder", two_number_code)):
        _, result = _fit(name, epochs, edit)
        rows.append({"model": name, "epochs": epochs, "code": 2,
                     "val_mse": result.history[-1]["val_mse"]})
    return rows


def gan_row(epochs: int) -> dict:
    snaps = []
    gan, _ = _fit("gan_digits", epochs, callbacks=[lambda e: isinstance(e, GanSnapshot)
                                                   and snaps.append(e)])
    cnn, result = _fit("digits_cnn", 10)
    g = gan.state.gan
    gan.state.model.eval()
    with torch.no_grad():
        fake = g.generator(torch.randn(500, *g.noise_shape,
                                       generator=torch.Generator().manual_seed(0)))
        probs = torch.softmax(cnn.state.model.eval()(fake), dim=1)
    classes = torch.bincount(probs.argmax(1), minlength=10).tolist()
    return {"model": "gan_digits", "epochs": epochs,
            "confident": float((probs.max(1).values >= 0.9).float().mean()),
            "classes_seen": sum(c > 0 for c in classes), "spread": snaps[-1].spread,
            "cnn_val_acc": result.history[-1].get("val_accuracy")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=30)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    vae = vae_rows(args.epochs)
    print_table(vae, ["model", "epochs", "code", "val_mse"])
    gan = gan_row(args.epochs)
    print_table([gan], ["model", "epochs", "confident", "classes_seen", "spread", "cnn_val_acc"])
    print(write_json("generative_quality", {"vae": vae, "gan": gan}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
