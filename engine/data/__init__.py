"""Datasets for training: bundled, synthetic, files and downloads, as numpy train/val/test.

Headless and torch-free (augment.py, the only torch module, is imported on demand).
Entry point: `load_dataset(config, project_folder, input_shape, input_dtype) -> DataSplits`.
"""
from __future__ import annotations

from ..lazy_exports import lazy_exports
from .base import DataError, DatasetInfo, DataSplits, RawData, Split, Target
from .catalogue import CATALOGUE, SOURCES, catalogue, dataset_info, dataset_names, default_config

# imported when first used (they import numpy): the catalogue and a new project's dataset
# config are needed before the app's window paints, the arrays only once data is loaded
_LAZY = {name: "loader" for name in ("load_dataset", "load_raw", "prepare", "preview")}
_LAZY.update({name: "prep" for name in (
    "denormalize_inputs", "fit_normalization", "label_encode", "normalize_inputs", "one_hot",
    "split_indices", "windows")})

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


__all__ = [
    "CATALOGUE",
    "SOURCES",
    "DataError",
    "DataSplits",
    "DatasetInfo",
    "RawData",
    "Split",
    "Target",
    "catalogue",
    "dataset_info",
    "dataset_names",
    "default_config",
    "denormalize_inputs",
    "fit_normalization",
    "label_encode",
    "load_dataset",
    "load_raw",
    "normalize_inputs",
    "one_hot",
    "prepare",
    "preview",
    "split_indices",
    "windows",
]
