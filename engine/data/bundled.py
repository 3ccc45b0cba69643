"""scikit-learn's bundled datasets (shipped inside scikit-learn, no network needed)."""
from __future__ import annotations

import numpy as np

from ..guard.text import quote
from .base import DataError, RawData, Target

_LOADERS = {
    "digits": ("load_digits", "8x8 handwritten digits, pixel values 0..16"),
    "iris": ("load_iris", "150 iris flowers, 4 measurements, 3 species"),
    "wine": ("load_wine", "178 wines, 13 chemical measurements, 3 cultivars"),
    "breast_cancer": ("load_breast_cancer",
                      "569 breast tumours, 30 cell-nucleus features, malignant or benign"),
}


def load_bundled(name: str, config: dict) -> RawData:
    """Load one of scikit-learn's toy datasets as float32 features and int64 labels.

    digits also offers the binary targets 'ge5' (digit >= 5) and 'even' for multi-task nets.
    """
    if name not in _LOADERS:
        raise DataError(f"unknown bundled dataset {quote(name)}; choose one of "
                        f"{', '.join(_LOADERS)}")
    import sklearn.datasets as skd  # imported lazily: slow to import

    fn, description = _LOADERS[name]
    bunch = getattr(skd, fn)()
    x = np.asarray(bunch.data, dtype=np.float32)
    y = np.asarray(bunch.target, dtype=np.int64)
    names = [str(n) for n in bunch.target_names]
    targets = {"label": Target(y, "classification", len(names), names)}
    if name == "digits":     # binary side tasks for multi-output examples
        targets["ge5"] = Target((y >= 5).astype(np.float32)[:, None], "binary", 2,
                                ["0-4", "5-9"])
        targets["even"] = Target((y % 2 == 0).astype(np.float32)[:, None], "binary", 2,
                                 ["odd", "even"])
    return RawData(x, targets, description=description)
