"""The Training tab's right-hand views: live curves, the insight views (feature maps,
confusion matrix, predictions, reconstructions, PCA, gradients, embeddings) and the run list.
Insight on the validation split is computed off the GUI thread, after a run or on demand from
a reopened project's saved weights."""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QTabWidget, QWidget

from engine.insight import build_model, compute_insight, pca_2d
from engine.layers.generative import GENERATED_TYPE, SAMPLING_TYPE
from engine.project import ProjectError
from engine.train.run_folder import read_metrics
from studio.ui.insight.confusion import ConfusionView
from studio.ui.insight.embeddings import EmbeddingView
from studio.ui.insight.feature_maps import FeatureMapView
from studio.ui.insight.gan import GanView
from studio.ui.insight.gradients import GradientView
from studio.ui.insight.latent import LatentView
from studio.ui.insight.pca import PCAView
from studio.ui.insight.predictions import PredictionsView
from studio.ui.insight.reconstructions import ReconstructionView
from studio.ui.plots.curves import LiveCurves
from studio.ui.runs import RunsPanel
from studio.ui.teaching.draw_test import DrawTestLauncher
from studio.ui.teaching.explainer import Explainer

from studio.background import BackgroundCall


def layer_nodes(document) -> list[tuple[str, str]]:
    """(node id, name) of the graph's layers, in execution order when the graph is valid."""
    try:
        order = document.report().order
    except Exception:  # noqa: BLE001 - an invalid graph: fall back to insertion order
        order = list(document.graph.nodes)
    nodes = document.graph.nodes
    return [(nid, nodes[nid].name) for nid in order
            if nid in nodes and nodes[nid].spec.role == "layer"]


class TrainingViews(QTabWidget):
    """`message(str)` says what the views are doing (for the panel's status line). The
    panel sets `busy` while a run is active (earlier runs and saved weights are not shown
    then). `dataset` is the dataset picker: its preview tells the samples' image shape.
    (Nothing here refers back to the panel: a reference cycle through the document made
    the garbage collector destroy its undo stack at a random time, which crashed Qt.)"""

    message = Signal(str)

    def __init__(self, document, dataset, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.dataset = dataset
        self.busy = False
        self.insight = None
        self._insight_call: BackgroundCall | None = None
        self._pca_key = None
        self._pca_call: BackgroundCall | None = None
        self._calls: set[BackgroundCall] = set()   # insight computations still running
        self._model_tabs: list = []    # (view, applies()): tabs for some models only
        self.curves = LiveCurves()
        self.feature_maps = FeatureMapView()
        self.explainer = Explainer(self)      # click a pixel of a feature map: its arithmetic
        self.draw_test = DrawTestLauncher(self)   # ✎ Draw to test… beside the layer list
        self.confusion = ConfusionView()
        self.predictions = PredictionsView()
        self.reconstructions = ReconstructionView()
        self.pca = PCAView()
        self.gradients = GradientView()
        self.embeddings = EmbeddingView()
        self.latent = LatentView()
        self.latent.sample_requested.connect(self.sample_prior)
        self.gan = GanView()
        self.gan.sample_requested.connect(self.sample_generator)
        self.runs = RunsPanel(document)
        self.runs.overlays_changed.connect(self.curves.set_overlays)
        self.runs.tree.itemDoubleClicked.connect(
            lambda item, _c: self.show_run(Path(item.data(0, Qt.ItemDataRole.UserRole))))
        self.setDocumentMode(True)
        for w, name in ((self.curves, "Curves"), (self.feature_maps, "Feature maps"),
                        (self.confusion, "Confusion matrix"),
                        (self.predictions, "Predictions"),
                        (self.reconstructions, "Reconstructions"), (self.pca, "PCA"),
                        (self.gradients, "Gradients"), (self.embeddings, "Embeddings"),
                        (self.latent, "Latent"), (self.gan, "GAN"), (self.runs, "Runs")):
            self.addTab(w, name)
        self.currentChanged.connect(self._tab_changed)

    # a tab that explains one kind of model only is shown only for a model with that layer
    ONLY_FOR = {"latent": "gen.Sampling", "gan": "gen.Generated"}

    def insert_model_tab(self, index: int, view: QWidget, name: str, applies) -> None:
        """A tab shown only while `applies()` is true of the document's model (see
        show_tabs_for_model)."""
        self.insertTab(index, view, name)
        self._model_tabs.append((view, applies))

    def show_tabs_for_model(self) -> None:
        """Show the tabs that apply to the document's model, hide the others (never left on a
        hidden tab); called after every edit and for each opened document."""
        types = {n.type for g in self.document.graph.all_graphs() for n in g.nodes.values()}
        shown = [(getattr(self, attr), layer in types) for attr, layer in self.ONLY_FOR.items()]
        for view, shown_now in [*shown, *((v, applies()) for v, applies in self._model_tabs)]:
            self.setTabVisible(self.indexOf(view), shown_now)
            if not shown_now and self.currentWidget() is view:
                self.setCurrentWidget(self.curves)

    def refresh_layers(self) -> None:
        """The feature-map view's layer list follows the graph."""
        layers = layer_nodes(self.document)
        self.feature_maps.set_layers(layers)
        if self.feature_maps.node_id is None and layers:
            self.feature_maps.choose(layers[0][0])

    def wait(self, timeout_ms: int) -> None:
        """Wait for the insight computations still running and drop their results: the
        window is closing, and a result delivered after it is freed would touch deleted
        widgets."""
        for call in [*self._calls, self._pca_call]:
            if call is not None:
                call.wait(timeout_ms)
        self.insight, self._insight_call = None, None

    def reset(self) -> None:
        """Show nothing of the previous project: no curves, insight, feature maps, gradients
        or embeddings; an insight computation still on its way is dropped when it arrives."""
        self.insight, self._insight_call, self._pca_key = None, None, None
        self.curves.reset()
        for view in (self.feature_maps, self.confusion, self.predictions,
                     self.reconstructions, self.pca, self.gradients, self.embeddings,
                     self.latent, self.gan):
            view.clear()
        self.runs.refresh()
        self.refresh_layers()

    # -- earlier runs ----------------------------------------------------------------------------
    def show_latest_run(self) -> None:
        runs = self.runs.run_dirs()
        if runs and not self.busy:
            self.show_run(runs[-1])

    def show_run(self, run_dir: Path) -> None:
        """Show a finished run's per-epoch curves (from its metrics.jsonl)."""
        if self.busy:
            return
        rows = read_metrics(run_dir)
        self.curves.start_run(1)
        for row in rows:
            if "epoch" in row:
                self.curves.add_epoch(row)
        self.curves.redraw(force=True)
        self.message.emit(f"Showing {run_dir.name}: {len(rows)} epoch(s). Press Train for a "
                          f"new run.")

    # -- insight ---------------------------------------------------------------------------------
    def _tab_changed(self, _index: int) -> None:
        if self.insight is None and self.currentWidget() in (
                self.confusion, self.predictions, self.pca, self.reconstructions,
                self.feature_maps, self.gradients):
            self.insight_from_saved_weights()
        self.maybe_pca()

    def insight_from_saved_weights(self) -> bool:
        """Insight views for a reopened project: its saved weights on its validation data
        (computed off the GUI thread). False when there is nothing to show."""
        doc = self.document
        if self.busy or not doc.graph.weights or self._insight_call is not None:
            return False
        if not doc.report().ok or self._is_gan():
            self._enable_sampling()
            return False
        graph, weights = doc.graph.copy(), doc.graph.weights
        dataset, folder = copy.deepcopy(doc.project.dataset), doc.project.folder
        allow = doc.project.allow_outside_data
        ids = [nid for nid, _ in layer_nodes(doc)]
        inputs = [n for n in graph.nodes.values() if n.spec.role == "input"]
        if not inputs:
            return False
        shape = tuple(inputs[0].params.get("shape", ()))
        dtype = inputs[0].params.get("dtype", "float")

        def work():
            from engine.data import load_dataset
            splits = load_dataset(dataset, folder, shape, dtype, allow)
            return compute_insight(build_model(graph, weights), splits, ids)

        self.message.emit("Computing insight views from the saved weights…")
        self._start_insight(work)
        return True

    def compute_insight(self, model, splits) -> None:
        """Predictions, confusion matrix and layer activations on the validation split, off
        the GUI thread."""
        self._enable_sampling()
        if self._is_gan():  # its input is noise: the insight views' data does not fit it
            return
        ids = [nid for nid, _ in layer_nodes(self.document)]
        self._start_insight(lambda: compute_insight(model, splits, ids))

    def _start_insight(self, fn) -> None:
        call = BackgroundCall(fn)
        self._insight_call = call

        def current() -> bool:    # False once reset() dropped it
            return call is self._insight_call

        call.succeeded.connect(lambda ins: current() and self._show_insight(ins))
        call.failed.connect(lambda msg, _tb: current() and self.message.emit(
            f"Insight views unavailable: {msg}"))
        call.finished.connect(lambda: self._insight_ended(call))
        self._calls.add(call)
        call.start()

    def _insight_ended(self, call) -> None:
        self._calls.discard(call)
        if call is self._insight_call:
            self._insight_call = None

    def _show_insight(self, ins) -> None:
        self.insight = ins
        self._enable_sampling()
        from engine.data import CATALOGUE
        info = CATALOGUE.get(self.document.project.dataset.get("name", ""))
        preview = getattr(self.dataset, "preview_data", None) or {}
        image_shape = preview.get("image_shape") or (info.image_shape if info else None)
        self.predictions.image_shape = image_shape
        self.reconstructions.image_shape = image_shape
        self.feature_maps.set_offline({k: v[:8] for k, v in ins.activations.items()},
                                      ins.weights)
        if ins.confusion is not None:
            self.confusion.set_matrix(ins.confusion, ins.class_names)
        self.predictions.set_insight(ins)
        if ins.task == "reconstruction" or (ins.outputs.shape == ins.x.shape):
            self.reconstructions.set_pairs(ins.x, ins.outputs)
        self.gradients.set_weights(ins.weights)
        nodes = self.document.graph.nodes
        tables = {nid: (nodes[nid].name, t["weight"]) for nid, t in ins.weights.items()
                  if nid in nodes and nodes[nid].type == "core.Embedding" and "weight" in t}
        self.embeddings.set_embeddings(tables, ins.vocab)
        self.maybe_pca()

    def _is_gan(self) -> bool:
        return any(n.type == GENERATED_TYPE for n in self.document.graph.nodes.values())

    def _enable_sampling(self) -> None:
        """Sampling buttons for a trained VAE or GAN."""
        types = {n.type for n in self.document.graph.nodes.values()}
        trained = bool(self.document.graph.weights)
        self.latent.sample_button.setEnabled(trained and SAMPLING_TYPE in types)
        self.gan.sample_button.setEnabled(trained and GENERATED_TYPE in types)

    def show_generative(self, ev) -> None:
        """A generative model's per-epoch pictures: a VAE's latent space, a GAN's samples."""
        from engine.train.events import GanSnapshot

        (self.gan if isinstance(ev, GanSnapshot) else self.latent).set_snapshot(ev)

    def sample_generator(self) -> None:
        """64 samples of fresh noise through the trained GAN generator."""
        from engine.generative import GenerativeError
        from engine.train.gan import samples

        graph = self.document.graph
        if not graph.weights:
            self.message.emit("Train the GAN first: sampling needs its learned weights.")
            return
        try:
            self.gan.show_samples(samples(graph.copy(), 64))
        except (GenerativeError, ValueError, ProjectError) as exc:   # its weights file
            self.message.emit(f"Cannot sample: {exc}")

    def sample_prior(self) -> None:
        """New samples from the model's weights: codes from N(0, I) through its decoder."""
        from engine.generative import GenerativeError, sample_prior

        graph = self.document.graph
        if not graph.weights:
            self.message.emit("Train the model first: sampling needs its learned weights.")
            return
        try:
            self.latent.show_samples(sample_prior(graph.copy(), 64))
        except (GenerativeError, ValueError, ProjectError) as exc:   # its weights file
            self.message.emit(f"Cannot sample: {exc}")

    def maybe_pca(self) -> None:
        """Project the picked layer's activations (SVD off the GUI thread), when the PCA tab
        is shown and the layer changed."""
        ins, nid = self.insight, self.feature_maps.node_id
        if ins is None or nid is None or nid not in ins.activations:
            return
        if self.currentWidget() is not self.pca or self._pca_key == (id(ins), nid):
            return
        self._pca_key = (id(ins), nid)
        labels = ins.y if ins.y is not None and np.ndim(ins.y) == 1 else None
        name = self.document.graph.nodes[nid].name
        acts = ins.activations[nid]
        self.pca.info.setText(f"{name}: projecting…")
        call = BackgroundCall(pca_2d, acts)
        call.succeeded.connect(lambda result: ins is self.insight and self.pca.show_projection(
            name, result, acts.shape, labels, ins.class_names))
        self._pca_call = call
        call.start()
