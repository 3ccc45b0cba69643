"""scikit-learn's bundled datasets (shipped inside scikit-learn, no network needed)."""
from __future__ import annotations

import numpy as np

from .base import DataError, RawData, Target

_LOADERS = {
    "digits": ("load_digits", "8x8 handwritten digits, pixel values 0..16"),
    "iris": ("load_iris", "150 iris flowers, 4 measurements, 3 species"),
    "wine": ("load_wine", "178 wines, 13 chemical measurements, 3 cultivars"),
    "breast_cancer": ("load_breast_cancer",
                      "569 breast tumours, 30 cell-nucleus features, malignant or benign"),
}


def load_bundled(name: str, config: dict) -> RawData:
    """Load one of scikit-learn's toy datasets as float32 features and int64 labels."""
    if name not in _LOADERS:
        raise DataError(f"unknown bundled dataset {name!r}; choose one of "
                        f"{', '.join(_LOADERS)}")
    import sklearn.datasets as skd  # imported lazily: slow to import

    fn, description = _LOADERS[name]
    bunch = getattr(skd, fn)()
    x = np.asarray(bunch.data, dtype=np.float32)
    y = np.asarray(bunch.target, dtype=np.int64)
    names = [str(n) for n in bunch.target_names]
    label = Target(y, "classification", len(names), names)
    return RawData(x, {"label": label}, description=description)
