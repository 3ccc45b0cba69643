"""Run controls: Train / Pause / Resume / Step / Stop, the progress bar and the status line."""
from __future__ import annotations

import time

import numpy as np
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


class RunControls(QWidget):
    """The buttons (the panel connects their `clicked`), a progress bar that shows epoch,
    step, throughput and ETA, and a one-line status text."""

    PROGRESS_INTERVAL_S = 0.25   # the progress bar repaints synchronously: ~4 times a second

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
        self.status = QLabel("Ready.")
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

    def set_running(self, running: bool, state: str = "idle") -> None:
        """Enable the buttons that make sense while a run is (not) active."""
        self.train_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.pause_button.setEnabled(running and state != "paused")
        self.resume_button.setEnabled(running and state == "paused")
        self.step_button.setEnabled(not running or state == "paused")

    def reset(self) -> None:
        """Idle and empty, as at start (another project was opened)."""
        self.progress.setValue(0)
        self.progress.setFormat("idle")
        self.status.setText("Ready.")

    def show_state(self, state: str) -> None:
        """The worker's state during a run: 'running' | 'paused' | ..."""
        self.pause_button.setEnabled(state == "running")
        self.resume_button.setEnabled(state == "paused")
        self.step_button.setEnabled(state == "paused")
        if state == "paused":
            self.progress.setFormat("paused — " + self.progress.format())

    def show_progress(self, batch, epochs: int | None) -> None:
        """The latest BatchEnded of a run of `epochs` (rate-limited: at most every
        PROGRESS_INTERVAL_S)."""
        now = time.monotonic()
        if now - self._last_progress < self.PROGRESS_INTERVAL_S:
            return
        self._last_progress = now
        epochs, spe = epochs or 1, batch.steps_per_epoch or 1
        done = (batch.epoch - 1) * spe + batch.step
        self.progress.setValue(int(100 * min(1.0, done / max(1, epochs * spe))))
        self.progress.setFormat(
            f"epoch {batch.epoch}/{epochs} · step {batch.step}/{spe} · "
            f"{batch.samples_per_s:,.0f} samples/s · ETA {format_duration(batch.eta_s)}")

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
        if full:
            self.progress.setValue(self.progress.maximum())
        self.progress.setFormat(how)
