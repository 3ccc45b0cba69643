"""`studio pretrained` (the gallery) and `studio new --pretrained NAME FILE` (its project)."""
from __future__ import annotations

import sys
from pathlib import Path

from .common import table


def register(sub) -> None:
    p = sub.add_parser("pretrained", help="list the pretrained networks (ImageNet weights)")
    p.set_defaults(func=run_list)


def add_new_options(parser) -> None:
    """The `studio new` options for a project from the gallery."""
    parser.add_argument("--pretrained", metavar="NAME", default=None,
                        help="a pretrained network (see `studio pretrained`)")
    parser.add_argument("--classes", type=int, default=None,
                        help="replace the head for N classes (default: the class folders "
                        "of --data, else ImageNet's 1000)")
    parser.add_argument("--weights", metavar="PATH", default=None,
                        help="a local torchvision state_dict (.pth) or .safetensors file "
                        "instead of the download")
    parser.add_argument("--random-weights", action="store_true",
                        help="the architecture only, with random weights")
    parser.add_argument("--data", metavar="FOLDER", default=None,
                        help="an image folder (one sub-folder per class) to fine-tune on")
    parser.add_argument("--freeze-epochs", metavar="K", type=int, default=None,
                        help="fine-tune preset: train the new head alone for K epochs, then "
                        "the backbone too at 0.1x the rate (default 2; 0: train everything "
                        "from the start)")


def run_list(args) -> int:
    from ..pretrained import GALLERY

    rows = [[n.name, n.title, f"{n.params / 1e6:.1f} M", f"{n.gmacs:.2f}", f"{n.top1:.1f}",
             f"{n.file_mb:.0f} MB", n.preprocess.describe()] for n in GALLERY.values()]
    print(table(rows, ["name", "network", "params", "GMACs", "top-1 %", "weights",
                       "ImageNet preprocessing"], right={2, 3, 4, 5}))
    return 0


def create(args, dest: Path) -> Path | None:
    """Write the project of `studio new --pretrained`; None (and a message) on failure."""
    from ..data.base import DataError
    from ..pretrained import (DOWNLOAD, FREEZE_EPOCHS, PretrainedError, get, new_project,
                              weights_dir)
    from ..project import ProjectError, save_project
    from ..transfer import TransferError

    try:
        net = get(args.pretrained)
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return None
    weights = None if args.random_weights else (args.weights or DOWNLOAD)
    if weights == DOWNLOAD and not (weights_dir() / net.file).is_file():
        print(f"downloading the {net.title} weights ({net.file_mb:.0f} MB) from {net.url}",
              file=sys.stderr)
    try:
        freeze = FREEZE_EPOCHS if args.freeze_epochs is None else args.freeze_epochs
        project = new_project(net.name, args.classes, weights, args.data,
                              project_path=dest.resolve(), freeze_epochs=freeze)
        project.meta["name"] = dest.stem
        return save_project(project, dest)
    except (PretrainedError, TransferError, DataError, ProjectError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
