"""Run controls: Train / Pause / Resume / Step / Stop, the progress bar and the status line."""
from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


def format_duration(seconds) -> str:
    """'m:ss', or 'h:mm:ss' from an hour on; '?' when unknown."""
    if seconds is None or not np.isfinite(seconds):
        return "?"
    s = round(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else \
        f"{s // 60}:{s % 60:02d}"


class StatusLine(QLabel):
    """The one-line status text. `setText` shows a text at once (and drops a text kept by
    `set_later`); `set_later(text)` is for a text that changes many times a second (an
    epoch's losses): RunControls shows the latest with its next progress update."""

    def __init__(self, text: str, on_later):
        super().__init__(text)
        self.later: str | None = None
        self._on_later = on_later

    def setText(self, text: str) -> None:
        self.later = None
        super().setText(text)

    def set_later(self, text: str) -> None:
        self.later = text
        self._on_later()


class RunControls(QWidget):
    """The buttons (the panel connects their `clicked`), a progress bar that shows epoch,
    step, throughput and ETA, and a one-line status text.

    While a run trains, the bar and the status line change together, at most every
    PROGRESS_INTERVAL_S, and the latest of each is always shown: every change is a repaint
    of the window's dirty part on the GUI thread (the bar's is synchronous), and a short
    epoch used to change the status line tens of times a second."""

    PROGRESS_INTERVAL_S = 0.25

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.train_button = QPushButton("▶ Train")
        self.train_button.setToolTip("Start training (Ctrl+Enter)")
        self.pause_button = QPushButton("Pause")
        self.resume_button = QPushButton("Resume")
        self.step_button = QPushButton("Step")
        self.step_button.setShortcut("F10")
        self.step_button.setToolTip("Train on one batch, then pause (F10). Press again for "
                                    "the next batch; Resume continues.")
        self.stop_button = QPushButton("■ Stop")
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)      # whole percents: fewer progress-bar repaints
        self.progress.setTextVisible(True)
        self.progress.setFormat("idle")
        self.status = StatusLine("Ready.", self._update_soon)
        row = QHBoxLayout()
        for b in (self.train_button, self.pause_button, self.resume_button, self.step_button,
                  self.stop_button):
            row.addWidget(b)
        row.addWidget(self.progress, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(row)
        lay.addWidget(self.status)
        self._last_progress = float("-inf")
        self._progress: tuple | None = None    # (BatchEnded, epochs) not shown yet
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._show_pending)

    def set_running(self, running: bool, state: str = "idle") -> None:
        """Enable the buttons that make sense while a run is (not) active."""
        self.train_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.pause_button.setEnabled(running and state != "paused")
        self.resume_button.setEnabled(running and state == "paused")
        self.step_button.setEnabled(not running or state == "paused")

    def reset(self) -> None:
        """Idle and empty, as at start (another project was opened)."""
        self._drop_pending()
        self.progress.setValue(0)
        self.progress.setFormat("idle")
        self.status.setText("Ready.")

    def show_state(self, state: str) -> None:
        """The worker's state during a run: 'running' | 'paused' | ..."""
        self.pause_button.setEnabled(state == "running")
        self.resume_button.setEnabled(state == "paused")
        self.step_button.setEnabled(state == "paused")
        if state == "paused":
            self._show_pending()
            self.progress.setFormat("paused — " + self.progress.format())

    def show_progress(self, batch, epochs: int | None) -> None:
        """The latest BatchEnded of a run of `epochs`: shown now, or the latest one
        PROGRESS_INTERVAL_S after the previous update."""
        self._progress = (batch, epochs)
        self._update_soon()

    def _update_soon(self) -> None:
        if self._timer.isActive():
            return
        wait = self._last_progress + self.PROGRESS_INTERVAL_S - time.monotonic()
        if wait <= 0:
            self._show_pending()
        else:
            self._timer.start(int(wait * 1000) + 1)

    def _show_pending(self) -> None:
        """The kept status text and progress, in one repaint (the bar's setValue repaints
        the window's dirty part at once: it goes last)."""
        self._timer.stop()
        self._last_progress = time.monotonic()
        if self.status.later is not None:
            self.status.setText(self.status.later)
        if self._progress is None:
            return
        (batch, epochs), self._progress = self._progress, None
        epochs, spe = epochs or 1, batch.steps_per_epoch or 1
        done = (batch.epoch - 1) * spe + batch.step
        self.progress.setFormat(
            f"epoch {batch.epoch}/{epochs} · step {batch.step}/{spe} · "
            f"{batch.samples_per_s:,.0f} samples/s · ETA {format_duration(batch.eta_s)}")
        self.progress.setValue(int(100 * min(1.0, done / max(1, epochs * spe))))

    def _drop_pending(self) -> None:
        self._timer.stop()
        self._progress = None
        self.status.later = None

    def show_step(self, global_step: int, steps_per_epoch: int | None) -> None:
        """Paused after `global_step` batches (after a Step, or a Pause)."""
        spe = steps_per_epoch or 0
        where = f" (epoch {global_step // spe + 1}, batch {global_step % spe})" \
            if spe and global_step % spe else (
                f" (end of epoch {global_step // spe})" if spe and global_step else "")
        self.status.setText(f"Paused after {global_step} batch(es){where}: Step trains the "
                            "next one, Resume continues.")

    def show_end(self, how: str, full: bool) -> None:
        """The run ended `how` ('finished', 'stopped', 'failed', ...); `full` fills the bar."""
        self._drop_pending()
        if full:
            self.progress.setValue(self.progress.maximum())
        self.progress.setFormat(how)
