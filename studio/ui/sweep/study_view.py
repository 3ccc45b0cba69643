"""The Sweep tab's study: read off the GUI thread and shown (the trials table, parallel
coordinates, the Pareto view, progress), the trials selected in it (their learning curves
overlaid) and applying a trial's values as one undoable edit. A part of SweepPanel."""
from __future__ import annotations

from engine.sweep.space import SweepError, label_for
from studio.background import BackgroundCall

from .edits import apply_values_edit, searched
from .trials_model import NUMBER_ROLE


def load_study_view(project, storage: str | None, study: str | None):
    """(StudyView or None, dims) of the project's study; runs off the GUI thread."""
    from engine.sweep.results import records
    from engine.sweep.space import space
    from engine.sweep.study import default_storage, default_study_name, load_study

    dims = space(project)
    try:
        s = load_study(storage or default_storage(project),
                       study or default_study_name(project))
    except SweepError:
        return None, dims
    return records(s, dims), dims


class StudyResults:
    """SweepPanel's study and selection (a mixin: it uses the panel's widgets, `document`,
    `view`, `dims` and `_call`)."""

    # -- the study ---------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the study in the background and show it (one read at a time)."""
        if self._call is not None:
            self._again = True
            return
        project = self.document.project
        if project.path is None or not searched(self.document):
            self._show(None, [])
            return
        from engine.sweep.space import copy_project

        call = BackgroundCall(load_study_view, copy_project(project),
                              self.storage.text().strip() or None,
                              self.study.text().strip() or None)
        call.succeeded.connect(self._read_result)   # methods: no call after the panel goes
        call.failed.connect(self._read_failed)
        call.finished.connect(self._read_done)
        self._call = call
        call.start()

    def _read_result(self, result) -> None:
        self._show(*result)

    def _read_failed(self, message: str, _tb: str) -> None:
        self.status.setText(f"Cannot read the study: {message}")

    def _read_done(self) -> None:
        self._call = None
        if self._again:
            self._again = False
            self.refresh()

    def _show(self, view, dims) -> None:
        selected = self.selected_trials()
        self.view, self.dims = view, dims
        labels = [label_for(self.document.project, d.key) for d in dims]
        self.model.set_view(view, [d.key for d in dims], labels)
        self.table.resizeColumnsToContents()
        self.parallel.show_study(view, dims, labels)
        self.pareto.show_study(view)
        self._show_progress(view)
        self.select_trials(selected)

    def _show_progress(self, view) -> None:
        total = self.trials.value()
        if view is None or not view.trials:
            self.progress.setRange(0, 100)
            self.progress.setValue(0)
            self.progress.setFormat("no trials yet")
            self.status.setText("")
            self.apply_best_button.setEnabled(False)
            return
        counts = view.counts()
        done = sum(n for s, n in counts.items() if s not in ("running", "waiting"))
        self.progress.setRange(0, max(total, done))
        self.progress.setValue(done)
        self.progress.setFormat(f"{done} of {max(total, done)} trials")
        best = view.best
        parts = [", ".join(f"{n} {s}" for s, n in sorted(counts.items()))]
        if best is not None:
            parts.append(f"best {view.metric} {best.value:.4g} (trial {best.number})")
        running = [t for t in view.trials if t.state == "running"]
        if running:
            parts.append("running: " + ", ".join(
                f"trial {t.number} epoch {max(t.curve) if t.curve else 0}" for t in running))
        self.status.setText(" · ".join(parts))
        self.apply_best_button.setEnabled(best is not None)

    # -- selection and applying --------------------------------------------------------------------
    def selected_trials(self) -> list[int]:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() \
            else []
        return sorted(int(r.data(NUMBER_ROLE)) for r in rows)

    def select_trial(self, number: int) -> None:
        self.select_trials([number])
        self.tabs.setCurrentWidget(self.table)

    def select_trials(self, numbers) -> None:
        sel = self.table.selectionModel()
        sel.clearSelection()
        for row in range(self.proxy.rowCount()):
            index = self.proxy.index(row, 0)
            if index.data(NUMBER_ROLE) in numbers:
                sel.select(index, sel.SelectionFlag.Select | sel.SelectionFlag.Rows)
                self.table.scrollTo(index)

    def _selection(self) -> None:
        numbers = self.selected_trials()
        self.parallel.set_selected(numbers)
        self.pareto.set_selected(numbers)
        self.curves.set_overlays([(f"trial {t.number}", self._rows(t))
                                  for t in self._trials(numbers)])
        self.apply_button.setEnabled(len(numbers) == 1)
        self.trials_selected.emit(numbers)

    def _trials(self, numbers) -> list:
        return [t for t in (self.view.trials if self.view else []) if t.number in numbers]

    def _rows(self, trial) -> list[dict]:
        """The trial's epoch rows from its run folder, else the metric it reported."""
        from ..runs import read_metrics

        if trial.run and self.document.project.path is not None:
            rows = read_metrics(self.document.project.runs_dir() / trial.run)
            if rows:
                return rows
        return [{"epoch": e, self.view.metric: v} for e, v in sorted(trial.curve.items())]

    def apply_best(self) -> bool:
        best = self.view.best if self.view else None
        return best is not None and self._apply(best, f"Apply best trial {best.number}")

    def apply_selected(self) -> bool:
        trials = self._trials(self.selected_trials())
        return len(trials) == 1 and self._apply(trials[0], f"Apply trial {trials[0].number}")

    def _apply(self, trial, text: str) -> bool:
        keys = {d.key for d in self.dims}
        values = {k: v for k, v in trial.values.items() if k in keys}
        try:
            apply_values_edit(self.document, values, text)
        except (SweepError, ValueError) as exc:
            self.message.setText(f"Cannot apply trial {trial.number}: {exc}")
            return False
        shown = ", ".join(f"{label_for(self.document.project, k)} = {v}"
                          for k, v in values.items())
        self.status.setText(f"Applied trial {trial.number}: {shown} (Ctrl+Z undoes it)")
        return True
