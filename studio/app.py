"""Application start-up: the QApplication, the main window, recovery of unsaved work, the
headless screenshot command, and importing torch in the background once the window has
painted and its panels are built."""
from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from pathlib import Path

START = time.perf_counter()
# what opening a project imports (its graph checks): on a thread, before the document opens
# after the first paint
OPEN_IMPORTS = ("networkx",)


def _torch_import() -> None:
    from .app_imports import load_torch_libraries

    load_torch_libraries()   # its biggest library, without holding the GIL
    try:
        import torch  # noqa: F401  (warms the import so training starts without a pause)
    except Exception:
        pass


def import_torch_in_background() -> threading.Thread:
    """Import torch in a daemon thread (the window is already visible)."""
    thread = threading.Thread(target=_torch_import, name="torch-import", daemon=True)
    thread.start()
    return thread


def wait_for_imports(window, limit_s: float = 60.0) -> bool:
    """After the event loop: let the start-up's import threads finish (the window is gone)
    before the interpreter shuts down. A daemon thread stopped at exit inside an extension
    module's initialisation (torch's C++) aborts the process ("terminate called without an
    active exception", or a crash). True if they finished within `limit_s`."""
    end = time.monotonic() + limit_s
    done = window.background_imports.finish(limit_s)
    for thread in threading.enumerate():
        if thread.name == "torch-import":
            thread.join(max(0.0, end - time.monotonic()))
            done = done and not thread.is_alive()
    return done


def make_app(argv: list[str] | None = None):
    """The QApplication (created once) with names, icon and the saved theme."""
    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from .app_imports import cheaper_pyside_import_check
    from .ui.main_window import ICON_PATH
    from .ui.theme import apply_theme

    cheaper_pyside_import_check()

    app = QApplication.instance()
    if app is None:
        app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setOrganizationName("Studio")
    app.setApplicationName("Studio")
    app.setDesktopFileName("studio")
    app.setWindowIcon(QIcon(str(ICON_PATH)))
    apply_theme(app, os.environ.get("STUDIO_THEME") or str(QSettings().value("theme", "light")))
    return app


def open_start_document(window, path: str | None) -> None:
    """Open `path` (or the digits_cnn example) and offer to restore unsaved work."""
    from engine.examples import example_path

    if path:
        if not window.open_file(path, ask_unsaved=False):
            window.document.new()
            window.log_event(f"Could not open {path}")
        window.offer_recovery(window.document.path or path)
        return
    try:
        window.document.open_example(example_path("digits_cnn"))
    except Exception as exc:  # noqa: BLE001 (a broken install still starts, empty)
        window.document.new()
        window.log_event(f"Could not open the default example: {exc}")
    window.offer_recovery(None)


def run_app(path: str | None = None) -> int:
    """Open the main window (on `path`, or on the digits_cnn example) and run the event loop.
    Only the window is built before it first paints (menus, empty canvas, panel frames); then,
    one step per event-loop turn: the document, the panels, and torch on a thread."""
    from engine.project import Project

    from .document import Document
    from .ui.main_window import MainWindow

    app = make_app()
    # an empty project without a dataset until the document opens after the paint: a new
    # project's dataset would be profiled on a thread (numpy, scikit-learn) meanwhile
    window = MainWindow(Document(Project()), lazy_panels=True)
    imports = window.background_imports
    window.after_paint.add(lambda: imports.request(OPEN_IMPORTS), "import networkx (thread)")
    window.after_paint.add(lambda: imports.wait(OPEN_IMPORTS), "wait for networkx")
    window.after_paint.add(lambda: open_start_document(window, path), "open the document")
    window.show()   # queues the panels after the document
    window.after_paint.add(import_torch_in_background, "start importing torch")
    code = app.exec()
    wait_for_imports(window)
    return code


def _parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise SystemExit(f"studio screenshot: --size must look like 1600x1000, not {text!r}")
    if not (200 <= w <= 8000 and 200 <= h <= 8000):
        raise SystemExit("studio screenshot: --size must be between 200x200 and 8000x8000")
    return w, h


def render_window(window, size: tuple[int, int]):
    """Show the window at `size` offscreen, let it lay out, frame the graph, grab a pixmap."""
    from PySide6.QtWidgets import QApplication

    window.resize(*size)
    window.show()
    for _ in range(3):
        QApplication.processEvents()
    window.fit_docks_to_window()
    QApplication.processEvents()
    window.unit_heatmaps.settle()   # they make nodes taller: before the graph is framed
    window.apply_saved_view()
    QApplication.processEvents()
    from .ui.teaching.boundary_tab import BoundaryTab

    from .ui.teaching.network_view import NetworkView

    for tab in [*window.findChildren(BoundaryTab), *window.findChildren(NetworkView)]:
        tab.settle()   # computed off the GUI thread
    window.scene.flush_labels()   # a big graph's off-screen wire labels come in batches
    return window.grab()


def screenshot(args) -> int:
    """`studio screenshot FILE -o out.png [--size WxH] [--tab summary|problems|...]`."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings

    from engine.project import ProjectError

    from .document import Document
    from .ui.main_window import MainWindow

    size = _parse_size(args.size)
    make_app()
    with tempfile.TemporaryDirectory() as tmp:  # never touch the user's saved layout
        settings = QSettings(str(Path(tmp) / "screenshot.ini"), QSettings.Format.IniFormat)
        document = Document(autosave_ms=0)
        try:
            document.open(args.file)
        except ProjectError as exc:
            print(f"studio screenshot: {exc}", file=sys.stderr)
            return 2
        window = MainWindow(document, settings)
        if getattr(args, "tab", None):
            window.show_tab(args.tab)
        if getattr(args, "enter", None):
            node = next((n for n in document.graph.nodes.values() if n.name == args.enter
                         and n.is_block), None)
            if node is None or not document.enter(node.id):
                print(f"studio screenshot: no block named {args.enter!r}", file=sys.stderr)
                return 2
        _select_showcase_node(window)
        pixmap = render_window(window, size)
        from .ui.teaching.screenshot import teaching_shot

        pixmap = teaching_shot(window, args, size, render_window) or pixmap
        out = Path(args.output)
        out.parent.mkdir(parents=True, exist_ok=True)
        if not pixmap.save(str(out), "PNG"):
            print(f"studio screenshot: cannot write {out}", file=sys.stderr)
            return 1
        window.document.undo_stack.setClean()
        window.close()
        window.deleteLater()
    print(f"wrote {out} ({size[0]}x{size[1]})")
    return 0


def _select_showcase_node(window) -> None:
    """Select a node for the inspector: the first with a problem, else the first layer with
    learnable parameters, so the screenshot shows the Explain section."""
    doc = window.document
    report = doc.edit_report()
    for nid in report.order or list(doc.edit_graph.nodes):
        if report.issues_for(nid) and any(i.severity == "error" for i in report.issues_for(nid)):
            window.scene.select_ids([nid])
            return
    for nid in report.order:
        if report.param_counts.get(nid):
            window.scene.select_ids([nid])
            return
