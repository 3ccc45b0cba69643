"""The run controls' progress bar and status line: while a run trains they change at most a
few times a second, and the latest of each is always what is shown in the end."""
from engine.train.events import BatchEnded
from studio.ui.training.run_controls import RunControls


def _batch(epoch: int, step: int, spe: int = 10) -> BatchEnded:
    return BatchEnded(epoch, step, (epoch - 1) * spe + step, 1.0, 0.1, 1000.0, 5.0, spe)


def _controls(qtbot, interval_s: float) -> RunControls:
    c = RunControls()
    qtbot.addWidget(c)
    c.show()
    c.PROGRESS_INTERVAL_S = interval_s
    c.set_running(True, "running")
    return c


def test_a_burst_shows_the_first_at_once_and_then_the_latest(qtbot):
    c = _controls(qtbot, 1.0)
    formats = []
    c.progress.valueChanged.connect(lambda _v: formats.append(c.progress.format()))
    for epoch in (1, 2):
        for step in range(1, 11):
            c.show_progress(_batch(epoch, step), epochs=4)
        c.status.set_later(f"epoch {epoch}: loss 1.0")
    # the first is shown at once; the rest waits, the status line with it
    assert c.progress.value() == 2 and "epoch 1/4 · step 1/10" in c.progress.format()
    assert c.status.text() == "Ready."
    qtbot.waitUntil(lambda: c.progress.value() == 50, timeout=10_000)
    assert "epoch 2/4 · step 10/10" in c.progress.format()
    assert c.status.text() == "epoch 2: loss 1.0"
    assert len(formats) == 2         # two repaints of the bar for twenty updates
    assert all("samples/s" in f for f in formats)   # each repaint with its own text


def test_a_text_shown_at_once_is_not_overwritten_by_a_kept_one(qtbot):
    c = _controls(qtbot, 0.05)
    c.show_progress(_batch(1, 1), epochs=1)          # the next update has to wait
    c.status.set_later("epoch 1: loss 1.0")
    c.status.setText("Stopping after this batch…")
    qtbot.wait(200)
    assert c.status.text() == "Stopping after this batch…"


def test_the_end_of_a_run_is_not_overwritten_by_progress_kept_before_it(qtbot):
    c = _controls(qtbot, 0.05)
    c.show_progress(_batch(1, 1), epochs=1)
    c.show_progress(_batch(1, 5), epochs=1)           # kept for later
    c.status.set_later("epoch 1: loss 1.0")
    c.status.setText("Training finished after 1 epoch(s).")
    c.show_end("finished", full=True)
    qtbot.wait(200)
    assert c.progress.value() == 100 and c.progress.format() == "finished"
    assert c.status.text() == "Training finished after 1 epoch(s)."


def test_pausing_shows_the_kept_progress_first(qtbot):
    c = _controls(qtbot, 60.0)
    c.show_progress(_batch(1, 1), epochs=1)
    c.show_progress(_batch(1, 7), epochs=1)
    c.show_state("paused")
    assert c.progress.value() == 70
    assert c.progress.format().startswith("paused — epoch 1/1 · step 7/10")
