"""Pretrained networks: torchvision's ImageNet models built from Studio blocks, so their
`state_dict` keys and shapes equal torchvision's and its weight files load by name.

`new_project("resnet18", classes=5, weights="download" | path | None, data=folder)` returns a
Project ready to fine-tune: the network, its weights, a head for the dataset's classes and
the dataset settings that prepare images as the network expects (ImageNet resize, crop,
mean and std).
"""
from __future__ import annotations

import os
from pathlib import Path

from .catalogue import GALLERY, Preprocess, PretrainedNet, get
from .weights import PretrainedError, apply_state, fetch, read_state, weights_dir

DOWNLOAD = "download"
FREEZE_EPOCHS = 2   # the fine-tune preset of a new project: the head alone for 2 epochs


def load_weights(net: PretrainedNet, graph, source: str | os.PathLike = DOWNLOAD,
                 timeout: float | None = None) -> Path:
    """Fetch (or take the local file `source`) and store the weights in `graph`, which must
    be `net` built for 1000 classes. Returns the file used. Raises PretrainedError."""
    if source == DOWNLOAD:
        path = fetch(net.url, net.title, **({"timeout": timeout} if timeout else {}))
    else:
        path = Path(source)
        if not path.is_file():
            raise PretrainedError(f"weights file {path} not found")
    state = read_state(path)
    if net.remap is not None:
        state = net.remap(state)
    apply_state(graph, state, path.name)
    return path


def dataset_settings(net: PretrainedNet, folder: str | None = None) -> dict:
    """An image-folder dataset prepared the way `net` was trained (path left empty when no
    folder is given yet)."""
    return {"source": "image_folder", "path": folder or "", "seed": 0, "val_split": 0.2,
            "test_split": 0.1, **net.preprocess.dataset_options()}


def count_classes(folder: str | os.PathLike) -> int:
    """The number of class sub-folders of an image folder (what the new head predicts)."""
    from ..data.images import list_images

    classes, _ = list_images(Path(folder))
    return len(classes)


def new_project(name: str, classes: int | None = None, weights: str | os.PathLike | None =
                DOWNLOAD, data: str | os.PathLike | None = None,
                project_path: Path | None = None, freeze_epochs: int = FREEZE_EPOCHS):
    """A project with gallery network `name`: its weights (downloaded, a local file, or None
    for random ones), the head replaced for `classes` (default: the class folders of the image
    folder `data`, else ImageNet's 1000) and the dataset settings; `data` is stored relative
    to `project_path` when it lies inside its folder. With `freeze_epochs` (0: none) the
    training uses the fine-tune preset: the head alone for that many epochs, then the
    backbone at 0.1x the rate."""
    from ..project import Project
    from ..transfer import fine_tune_preset, replace_head

    net = get(name)
    graph = net.build(1000)
    meta = {"name": net.title, "description": f"{net.title} pretrained on ImageNet-1K "
            f"({net.top1:.1f}% top-1)", "pretrained": {"network": net.name}}
    if weights is not None:
        used = load_weights(net, graph, weights)
        meta["pretrained"]["weights"] = used.name
    project = Project(graph=graph, meta=meta, path=project_path)
    folder = None
    if data:
        folder = project.relative_data_path(Path(data))
        if classes is None:
            classes = count_classes(data)
    if classes is not None and classes != 1000:
        replace_head(graph, classes)
    project.dataset = dataset_settings(net, folder)
    project.training = {"epochs": 6, "batch_size": 32, "optimizer": {"name": "adam",
                                                                      "lr": 1e-3}}
    if weights is not None:
        project.training["start_from"] = "weights"   # train from the pretrained weights
    if freeze_epochs:
        project.training = fine_tune_preset(graph, project.training, freeze_epochs)
    return project


__all__ = ["DOWNLOAD", "FREEZE_EPOCHS", "GALLERY", "Preprocess", "PretrainedError", "PretrainedNet",
           "count_classes", "dataset_settings", "get", "load_weights", "new_project",
           "weights_dir"]
