"""`studio evaluate FILE --run RUN`: a run's checkpoint on the test (or val/train) split."""
from __future__ import annotations

import json

from ..guard.text import quote
from .common import ALLOW_OUTSIDE_HELP, error, open_project, table


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="evaluate a training run's checkpoint on a split")
    p.add_argument("file", help="a .nnproj project file")
    p.add_argument("--run", default="last",
                   help="run-N, N, 'last' (default) or a run folder path")
    p.add_argument("--checkpoint", choices=("best", "last"), default="best")
    p.add_argument("--split", choices=("test", "val", "train"), default="test")
    p.add_argument("--device", default="auto")
    p.add_argument("--metrics", nargs="+", metavar="NAME",
                   help="metrics to compute instead of the project's (e.g. f1 "
                   "confusion_matrix)")
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    p.add_argument("--allow-outside-data", action="store_true", help=ALLOW_OUTSIDE_HELP)
    p.set_defaults(func=run)


def run(args) -> int:
    project = open_project(args.file, args.allow_outside_data)
    if project is None:
        return 1
    from ..project import ProjectError
    from ..train.config import ConfigError
    from ..train.faults import TrainError
    from ..train.trainer import Trainer

    try:
        trainer = Trainer(project, args.device, run_dir=False)
        info = trainer.load_checkpoint(args.run, args.checkpoint)
        metrics = trainer.evaluate(args.split, args.metrics)
    except (ConfigError, TrainError, ValueError, ProjectError) as exc:  # CheckpointError too
        return error(exc, args.file)
    except OSError as exc:  # a missing run, an unreadable checkpoint file
        return error(f"run {quote(args.run)}: {exc.strerror or exc}"
                     if not isinstance(exc, FileNotFoundError) else exc, args.file)
    if args.json:
        print(json.dumps({"split": args.split, "epoch": info.get("epoch"), **metrics}))
        return 0
    print(f"{args.checkpoint} checkpoint (epoch {info.get('epoch')}) on the {args.split} split:")
    rows = [[k, f"{v:.6g}"] for k, v in metrics.items() if isinstance(v, (int, float))]
    print(table(rows, ["metric", "value"], right={1}))
    for k, v in metrics.items():
        if isinstance(v, list):
            print(f"\n{k} (rows: true class, columns: predicted):")
            width = max(len(str(c)) for r in v for c in r)
            for r in v:
                print("  " + " ".join(str(c).rjust(width) for c in r))
    return 0
