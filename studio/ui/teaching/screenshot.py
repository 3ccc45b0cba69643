"""`studio screenshot` options for the teaching views: train first (--train), show a Training
view by its tab title (--view), or render a teaching dialog instead of the window (--units,
--probe). Used to make the README's pictures; each waits for its computation."""
from __future__ import annotations

import time

from PySide6.QtWidgets import QApplication

from .screenshot_explain import add_options as explain_options
from .screenshot_explain import shot as explain_shot
from .screenshot_explain import wanted as explain_wanted


def add_options(parser) -> None:
    parser.add_argument("--train", type=int, default=0, metavar="EPOCHS",
                        help="train this many epochs in the window first (live views, health "
                        "warnings and the trained weights are shown)")
    parser.add_argument("--view", default=None, metavar="TITLE",
                        help="the Training view to show, by its tab title (e.g. 'Decision "
                        "boundary', 'Gradients')")
    parser.add_argument("--units", default=None, metavar="NODE[:UNIT]",
                        help="render the What Activates a Unit view of layer NODE")
    parser.add_argument("--probe", default=None, metavar="NODE",
                        help="render the Probe view of the wire leaving NODE")
    explain_options(parser)


def _wait(done, timeout_s: float = 900.0) -> None:
    end = time.monotonic() + timeout_s
    while not done() and time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.01)
    QApplication.processEvents()


def _node(window, name: str):
    node = next((n for n in window.document.graph.nodes.values() if n.name == name), None)
    if node is None:
        raise SystemExit(f"studio screenshot: no node named {name!r}")
    return node


def train(window, epochs: int) -> None:
    panel = window.panels["training"]
    panel.overrides = {"epochs": epochs, "run_dir": False}   # no run folder written
    window.show_tab("training")
    if not panel.start():
        raise SystemExit(f"studio screenshot: training did not start: {panel.status.text()}")
    _wait(lambda: panel.worker is None)


def show_view(window, title: str) -> None:
    views = window.panels["training"].views
    titles = [views.tabText(i).replace("&", "") for i in range(views.count())]
    if title not in titles:
        raise SystemExit(f"studio screenshot: no Training view {title!r} (there are: "
                         f"{', '.join(titles)})")
    window.show_tab("training")
    views.setCurrentIndex(titles.index(title))


def _dialog(window, args, size):
    if args.units:
        name, _, unit = args.units.partition(":")
        dialog = window.unit_menu.open(_node(window, name).id)
        if dialog is None:
            raise SystemExit(f"studio screenshot: {name!r} has no units to show")
        if unit:
            dialog.unit.setValue(int(unit))
            dialog._debounce.stop()
            dialog.compute()
        _wait(lambda: dialog.pictures is not None and
              dialog.pictures.unit == dialog.unit.value())
    else:
        node = _node(window, args.probe)
        edge = next((e for e in window.document.graph.edges if e.src == node.id), None)
        if edge is None:
            raise SystemExit(f"studio screenshot: no wire leaves {args.probe!r}")
        dialog = window.probe_menu.probe(edge)
        _wait(lambda: dialog.tensor is not None)
    dialog.resize(min(size[0], 1000), min(size[1], 520))
    for _ in range(3):
        QApplication.processEvents()
    return dialog


def teaching_shot(window, args, size, render):
    """Apply the teaching options to the rendered `window`; the pixmap to save (`render`
    draws the window), or None when no option was given (the window's render stands)."""
    for name in ("train", "view", "units", "probe"):
        if not hasattr(args, name):
            setattr(args, name, None)
    if not (args.train or args.view or args.units or args.probe or explain_wanted(args)):
        return None
    if args.train:
        train(window, args.train)
        if getattr(args, "tab", None):     # training showed its own tab
            window.show_tab(args.tab)
    if args.view:
        show_view(window, args.view)
    if explain_wanted(args):
        return explain_shot(window, args, size, render, _wait)
    if args.units or args.probe:
        dialog = _dialog(window, args, size)
        pixmap = dialog.grab()
        if hasattr(dialog, "wait"):
            dialog.wait()
        return pixmap
    return render(window, size)
