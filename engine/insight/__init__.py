"""Qt-free analysis of a trained model for the insight views (and scripts): see compute.py."""
from __future__ import annotations

from .compute import (
    Insight,
    build_model,
    compute_insight,
    confusion_matrix,
    nearest_words,
    occlusion_map,
    pca_2d,
    ranked_predictions,
    run_model,
    softmax,
)

__all__ = ["Insight", "build_model", "compute_insight", "confusion_matrix", "nearest_words",
           "occlusion_map", "pca_2d", "ranked_predictions", "run_model", "softmax"]
