"""A sweep run from the app: `studio sweep` in a child process (so several processes can
share it, and the app stays responsive); the panel follows it through the study's storage."""
from __future__ import annotations

import sys

from PySide6.QtCore import QObject, QProcess, QTimer, Signal

STOP_GRACE_MS = 15_000


def sweep_command(path: str, trials: int, jobs: int, storage: str | None,
                  study: str | None) -> list[str]:
    args = ["-m", "engine.cli", "sweep", path, "--trials", str(trials), "--jobs", str(jobs)]
    if storage:
        args += ["--storage", storage]
    if study:
        args += ["--study", study]
    return args


class SweepProcess(QObject):
    """Signals: output(str) for each line, finished(int exit code)."""

    output = Signal(str)
    finished = Signal(int)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.process: QProcess | None = None

    def running(self) -> bool:
        return self.process is not None and \
            self.process.state() != QProcess.ProcessState.NotRunning

    def start(self, args: list[str]) -> None:
        proc = QProcess(self)
        proc.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        proc.readyReadStandardOutput.connect(self._read)
        proc.finished.connect(lambda code, _status: self._finished(code))
        self.process = proc
        proc.start(sys.executable, args)

    def stop(self) -> None:
        """SIGTERM: the running trial ends after its batch and is recorded; killed if it
        does not end within STOP_GRACE_MS."""
        proc = self.process
        if proc is not None and self.running():
            proc.terminate()
            QTimer.singleShot(STOP_GRACE_MS, lambda p=proc: p.state() !=
                              QProcess.ProcessState.NotRunning and p.kill())

    def wait(self, ms: int = 30_000) -> bool:
        return self.process is None or self.process.waitForFinished(ms)

    def _read(self) -> None:
        if self.process is None:
            return
        text = bytes(self.process.readAllStandardOutput()).decode("utf-8", "replace")
        for line in text.splitlines():
            if line.strip():
                self.output.emit(line)

    def _finished(self, code: int) -> None:
        self._read()
        self.finished.emit(code)
