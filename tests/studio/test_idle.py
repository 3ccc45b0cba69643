"""studio.idle.IdleQueue: deferred panel refreshes run once each, one per turn of the loop."""
from __future__ import annotations

import shiboken6
from PySide6.QtCore import QObject

from studio.idle import IdleQueue


class Counter(QObject):
    def __init__(self, log):
        super().__init__()
        self.log = log

    def refresh(self):
        self.log.append(self)


def test_each_task_runs_once_however_often_it_was_asked_and_one_per_turn(qtbot):
    queue, log = IdleQueue(), []
    a, b = Counter(log), Counter(log)
    for _ in range(5):
        queue.add(a.refresh)
        queue.add(b.refresh)
    assert log == [] and queue.pending()          # nothing runs inside the edit
    queue.run_next()
    assert log == [a]                             # one task per turn ...
    qtbot.waitUntil(lambda: not queue.pending(), timeout=5_000)
    assert log == [a, b]                          # ... each once


def test_a_task_of_a_deleted_widget_is_dropped(qtbot):
    queue, log = IdleQueue(), []
    gone, kept = Counter(log), Counter(log)
    queue.add(gone.refresh)
    queue.add(kept.refresh)
    shiboken6.delete(gone)   # its widget closed before the refresh ran
    queue.flush()
    assert log == [kept]


def test_a_task_added_first_runs_before_those_waiting(qtbot):
    """The next step of an edit's validation goes before the panel refreshes that need it."""
    queue, log = IdleQueue(), []
    a, b, step = Counter(log), Counter(log), Counter(log)
    queue.add(a.refresh)
    queue.add(b.refresh)
    queue.add(step.refresh, first=True)
    queue.run_next()
    queue.add(step.refresh, first=True)   # the step after it: again before the panels
    queue.flush()
    assert log == [step, step, a, b]
