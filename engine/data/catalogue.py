"""The catalogue of named datasets and file sources, for the GUI's dataset picker."""
from __future__ import annotations

from .base import DatasetInfo

_SPLIT = {"val_split": 0.2, "test_split": 0.1, "seed": 0}

CATALOGUE: dict[str, DatasetInfo] = {info.name: info for info in (
    DatasetInfo("digits", "bundled", "Handwritten digits (8x8)",
                "1797 scikit-learn digits, 8x8 pixels with values 0..16, 10 classes",
                "classification", (64,), num_classes=10, normalize="minmax",
                normalize_axis="global", image_shape=(1, 8, 8)),
    DatasetInfo("iris", "bundled", "Iris flowers",
                "150 flowers, 4 measurements, 3 species", "classification", (4,),
                num_classes=3),
    DatasetInfo("wine", "bundled", "Wine",
                "178 wines, 13 chemical measurements, 3 cultivars", "classification", (13,),
                num_classes=3),
    DatasetInfo("breast_cancer", "bundled", "Breast cancer (Wisconsin)",
                "569 tumours, 30 features, malignant or benign", "classification", (30,),
                num_classes=2),
    DatasetInfo("xor", "synthetic", "XOR",
                "noisy corners of the unit square, label x1 XOR x2", "binary", (2,),
                num_classes=2, normalize="none", options={"samples": 400, "noise": 0.05}),
    DatasetInfo("spirals", "synthetic", "Two spirals",
                "two interleaved spirals, one per class", "binary", (2,), num_classes=2,
                normalize="none", options={"samples": 400, "noise": 0.05, "turns": 1.5}),
    DatasetInfo("circles", "synthetic", "Circles",
                "a disc of one class inside a ring of the other", "binary", (2,),
                num_classes=2, normalize="none",
                options={"samples": 400, "noise": 0.05, "factor": 0.5}),
    DatasetInfo("gaussians", "synthetic", "Two Gaussians",
                "two round clouds of points, one per class", "binary", (2,), num_classes=2,
                normalize="none", options={"samples": 400, "noise": 0.3, "distance": 2.0}),
    DatasetInfo("sine", "synthetic", "Noisy sine sequences",
                "windows of noisy sine waves: predict the next value, or classify the "
                "frequency", "regression", (20, 1), normalize="none",
                options={"samples": 1000, "window": 20, "noise": 0.05, "task": "regression",
                         "num_classes": 3}),
    DatasetInfo("text", "synthetic", "Toy movie reviews",
                "short positive/negative sentences with synonym groups; token ids "
                "(0 padding, 1 unknown); mode 'skipgram'/'cbow' gives word pairs for "
                "embeddings", "classification", (12,), input_dtype="long", num_classes=2,
                normalize="none",
                options={"samples": 800, "max_len": 12, "mode": "classify", "window": 2}),
    DatasetInfo("ratings", "synthetic", "Movie ratings (RBM)",
                "users x movies: 1 liked, 0 disliked, -1 unrated, from latent genres",
                "reconstruction", (24,), normalize="none",
                options={"users": 300, "movies": 24, "genres": 3, "unrated": 0.3,
                         "flip": 0.05}),
    DatasetInfo("mnist", "download", "MNIST",
                "70000 handwritten digits, 28x28 grey (downloaded once, ~11 MB)",
                "classification", (1, 28, 28), num_classes=10, normalize="minmax",
                normalize_axis="global", image_shape=(1, 28, 28)),
    DatasetInfo("fashion_mnist", "download", "Fashion-MNIST",
                "70000 clothing images, 28x28 grey, 10 classes (downloaded once, ~30 MB)",
                "classification", (1, 28, 28), num_classes=10, normalize="minmax",
                normalize_axis="global", image_shape=(1, 28, 28)),
    DatasetInfo("cifar10", "download", "CIFAR-10",
                "60000 colour images, 32x32, 10 classes (downloaded once, ~160 MB)",
                "classification", (3, 32, 32), num_classes=10, normalize="standard",
                normalize_axis="channel", image_shape=(3, 32, 32)),
)}

# File sources: option -> default (None: required)
SOURCES: dict[str, dict] = {
    "csv": {"path": None, "features": "all columns but the target", "target": "last column",
            "delimiter": "auto", "header": True, "task": "auto", "text_column": None,
            "max_len": 32, "vocab_size": 10000, "min_count": 1, "window": None, "horizon": 1,
            "stream": "auto"},
    "npy": {"path": None, "y_path": None, "task": "auto", "window": None, "horizon": 1,
            "stream": "auto"},
    "npz": {"path": None, "x_key": "x", "y_key": "y", "task": "auto", "window": None,
            "horizon": 1},
    "image_folder": {"path": None, "image_size": "auto", "color": "auto",
                     "resize": None, "interpolation": "bilinear", "on_error": "error",
                     "stream": "auto"},
    "idx": {"path": None, "labels_path": None, "test_path": None, "test_labels_path": None},
}

FILE_DEFAULTS = {"csv": ("standard", "feature"), "npy": ("standard", "feature"),
                 "npz": ("standard", "feature"), "image_folder": ("minmax", "global"),
                 "idx": ("minmax", "global")}


def dataset_names() -> list[str]:
    """Names of the built-in datasets (bundled, synthetic and downloadable)."""
    return list(CATALOGUE)


def dataset_info(name: str) -> DatasetInfo | None:
    """The catalogue entry of a named dataset, or None."""
    return CATALOGUE.get(name)


def catalogue() -> list[DatasetInfo]:
    """All catalogue entries, in picker order."""
    return list(CATALOGUE.values())


def default_config(name: str) -> dict:
    """A complete dataset config for a named dataset, with its default options."""
    info = CATALOGUE[name]
    return {"source": info.source, "name": name, **_SPLIT, "normalize": info.normalize,
            **info.options}
