"""Step: the run controls train exactly one batch per click (pytest-qt, real trainer)."""
from PySide6.QtCore import Qt

from tests.studio.test_training_panel import WAIT_MS, _wait_done, make_panel  # noqa: F401


def _click(qtbot, button):
    qtbot.waitUntil(button.isEnabled, timeout=WAIT_MS)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_step_from_idle_then_step_by_step_then_resume(qtbot, make_panel):
    panel, doc, events = make_panel("xor_mlp", epochs=2)
    panel.overrides = {"event_interval": 0.0}
    assert panel.step_button.isEnabled()
    _click(qtbot, panel.step_button)                  # starts the run, paused after batch 1
    assert doc.locked
    qtbot.waitUntil(lambda: panel.worker.paused_step == 1, timeout=WAIT_MS)
    trainer = panel.worker.trainer
    assert trainer.global_step == 1
    assert [e.global_step for e in events if e.kind == "batch"] == [1]
    assert "Paused after 1 batch" in panel.status.text()
    assert panel.resume_button.isEnabled() and not panel.pause_button.isEnabled()
    for expected in (2, 3, 4):
        _click(qtbot, panel.step_button)
        qtbot.waitUntil(lambda n=expected: panel.worker.paused_step == n, timeout=WAIT_MS)
        qtbot.wait(50)                                  # nothing more runs while paused
        assert trainer.global_step == expected
    assert [e.global_step for e in events if e.kind == "batch"] == [1, 2, 3, 4]
    _click(qtbot, panel.resume_button)
    _wait_done(qtbot, panel)
    assert any(e.kind == "finished" and e.reason == "completed" for e in events)
    assert trainer.global_step == 2 * trainer.state.steps_per_epoch
    assert panel.step_button.isEnabled() and not doc.locked


def test_step_while_paused_in_a_running_run(qtbot, make_panel):
    panel, _doc, events = make_panel("digits_mlp", epochs=500, batch_size=16)
    panel.overrides = {"event_interval": 0.0}
    assert not panel.step_button.isHidden()
    panel.start()
    qtbot.waitUntil(lambda: any(e.kind == "batch" for e in events), timeout=WAIT_MS)
    assert not panel.step_button.isEnabled()           # running: Pause first
    _click(qtbot, panel.pause_button)
    qtbot.waitUntil(lambda: panel.worker.paused_step is not None, timeout=WAIT_MS)
    at = panel.worker.paused_step
    _click(qtbot, panel.step_button)
    qtbot.waitUntil(lambda: panel.worker.paused_step == at + 1, timeout=WAIT_MS)
    assert panel.worker.trainer.global_step == at + 1
    panel.stop()
    _wait_done(qtbot, panel)
