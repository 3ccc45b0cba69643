"""DaemonCall: a plain Python thread's result or error reaches slots on the GUI thread."""
import threading

from studio.background import DaemonCall


def _on_gui_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def test_a_daemon_call_delivers_its_result_on_the_gui_thread(qtbot):
    seen = []
    call = DaemonCall(lambda x: (2 * x, _on_gui_thread()), 21)
    call.succeeded.connect(lambda result: seen.append((result, _on_gui_thread())))
    with qtbot.waitSignal(call.succeeded, timeout=10_000):
        call.start()
    assert seen == [((42, False), True)]   # computed off, delivered on the GUI thread
    assert not call.thread.is_alive()


def test_a_daemon_call_delivers_its_error_as_one_sentence(qtbot):
    def broken():
        raise ValueError("the file is gone")

    call = DaemonCall(broken)
    with qtbot.waitSignal(call.failed, timeout=10_000) as blocker:
        call.start()
    message, trace = blocker.args
    assert message == "ValueError: the file is gone" and "broken" in trace


def test_quitting_while_a_background_call_runs_exits_cleanly(tmp_path):
    """A QThread destroyed while it runs aborts the process ('QThread: Destroyed while thread
    is still running'): the app waits for its calls at exit instead."""
    import subprocess
    import sys

    script = tmp_path / "quit_early.py"
    script.write_text(
        "import time\n"
        "from PySide6.QtCore import QCoreApplication\n"
        "from studio.background import BackgroundCall\n"
        "app = QCoreApplication([])\n"
        "call = BackgroundCall(time.sleep, 1.0)\n"
        "call.start()\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
