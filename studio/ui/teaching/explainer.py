"""Click a pixel of the Feature maps view -> the explainer dialog for it. Which layers can be
explained, the sample (the validation sample the view shows), the document's weights, and one
forward pass of the model through engine/teach/explain_at.py."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject

from engine.teach.explain_at import ExplainError, explain_at, explainable, feeds_output

from .explain_dialog import ExplainDialog


class Explainer(QObject):
    """Owned by the training views (`views`: document, insight, busy, feature_maps)."""

    def __init__(self, views):
        super().__init__(views)
        self.views = views
        self.dialog: ExplainDialog | None = None
        self._model_key = None
        self._model = None
        self._inputs = None      # (key, x) of samples read when no insight is at hand
        fm = views.feature_maps
        fm.clickable = self.can_explain
        fm.pixel_clicked.connect(self.explain)

    def _logits(self, node_id: str) -> bool:
        ins = self.views.insight
        return ins is not None and ins.task == "classification" and \
            feeds_output(self.views.document.graph, node_id)

    def can_explain(self, node_id: str) -> bool:
        node = self.views.document.graph.nodes.get(node_id)
        return node is not None and (explainable(node.type) or self._logits(node_id))

    def _model_for(self, document):
        from engine.teach.plane_data import seeded_model

        key = (document.undo_stack.index(), id(document.graph.weights))
        if key != self._model_key:
            seed = int(document.project.training.get("seed", 0) or 0)
            # untrained: the initialisation training starts from
            self._model = seeded_model(document.graph, document.graph.weights, seed)
            self._model_key = key
        return self._model

    def _sample(self, k: int) -> np.ndarray:
        ins = self.views.insight
        if ins is not None and len(ins.x) > k:
            return np.asarray(ins.x[k])
        from .probe_dialog import probe_inputs

        project = self.views.document.project
        key = (id(project), self.views.document.undo_stack.index())
        if self._inputs is None or self._inputs[0] != key:
            self._inputs = (key, probe_inputs(project, 8)[0])
        return np.asarray(self._inputs[1][min(k, len(self._inputs[1]) - 1)])

    def explain(self, node_id: str, sample: int, index) -> ExplainDialog | None:
        views, fm = self.views, self.views.feature_maps
        if views.busy:
            fm.info.setText("The weights change while training: click a pixel once the run "
                            "has ended (or stopped) to see how it is computed.")
            return None
        document = views.document
        if not document.report().ok:
            fm.info.setText("Fix the model's problems first: the explainer runs the model.")
            return None
        try:
            model = self._model_for(document)
            e = explain_at(model, document.graph, self._sample(sample), node_id, index,
                           logits=self._logits(node_id))
        except ExplainError as exc:
            fm.info.setText(str(exc))
            return None
        except Exception as exc:  # noqa: BLE001 - a model or data problem: say it, keep going
            fm.info.setText(f"Cannot explain this pixel: {exc}")
            return None
        if self.dialog is None:
            self.dialog = ExplainDialog(views.window())
        ins = views.insight
        self.dialog.show_explained(e, ins.class_names if ins is not None else None)
        weights = "the trained weights" if document.graph.weights else \
            "the fresh initialisation (not trained yet)"
        self.dialog.detail.setText(f"Sample {sample + 1} of the validation split, {weights}"
                                   + (f" · {e.detail}" if e.detail else ""))
        self.dialog.show()
        self.dialog.raise_()
        return self.dialog
