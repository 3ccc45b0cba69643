"""Datasets for training: bundled, synthetic, files and downloads, as numpy train/val/test.

Headless and torch-free (augment.py, the only torch module, is imported on demand).
Entry point: `load_dataset(config, project_folder, input_shape, input_dtype) -> DataSplits`.
"""
from __future__ import annotations

from .base import DataError, DatasetInfo, DataSplits, RawData, Split, Target
from .catalogue import CATALOGUE, SOURCES, catalogue, dataset_info, dataset_names, default_config
from .loader import load_dataset, load_raw, prepare, preview
from .prep import (
    denormalize_inputs,
    fit_normalization,
    label_encode,
    normalize_inputs,
    one_hot,
    split_indices,
    windows,
)

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
