"""`studio screenshot` options for the explainer views: --explain NODE:C,ROW,COL (or NODE:UNIT)
renders how one output number is computed (after --train, on validation sample 1),
--draw renders the Draw-to-test pad with a "7" drawn on it, --select NODE shows that node in
the inspector (a conv or pool layer: its Try sizes sandbox)."""
from __future__ import annotations

from PySide6.QtWidgets import QApplication

SEVEN = [(0.2, 0.2), (0.8, 0.2), (0.45, 0.85)]


def add_options(parser) -> None:
    parser.add_argument("--explain", default=None, metavar="NODE:C,ROW,COL",
                        help="render the explainer of output (channel, row, column) of layer "
                        "NODE, or NODE:UNIT of a softmax or a classifier's scores")
    parser.add_argument("--draw", action="store_true",
                        help="render the Draw to test pad with a 7 drawn on it")
    parser.add_argument("--select", default=None, metavar="NODE",
                        help="select layer NODE (the inspector shows it)")


def wanted(args) -> bool:
    return bool(getattr(args, "explain", None) or getattr(args, "draw", False)
                or getattr(args, "select", None))


def _node(window, name: str):
    node = next((n for n in window.document.graph.nodes.values() if n.name == name), None)
    if node is None:
        raise SystemExit(f"studio screenshot: no node named {name!r}")
    return node


def shot(window, args, size, render, wait):
    """The pixmap for these options (None when none was given)."""
    if not wanted(args):
        return None
    if getattr(args, "select", None):
        window.scene.select_ids([_node(window, args.select).id])
        if not getattr(args, "explain", None) and not getattr(args, "draw", False):
            pixmap = render(window, size)
            from ..inspector import InspectorWidget

            for inspector in window.findChildren(InspectorWidget):   # scroll to Try sizes
                if inspector.sandbox.node is not None:
                    inspector.sandbox.sliders["stride"].setValue(2)
                    inspector.ensureWidgetVisible(inspector.sandbox, 0, 0)
                    pixmap = window.grab()
            return pixmap
    views = window.panels["training"].views
    if getattr(args, "explain", None):
        name, _, where = args.explain.partition(":")
        index = tuple(int(v) for v in where.split(",")) if where else (0, 0, 0)
        if window.document.graph.weights:
            window.show_tab("training")
            views.insight_from_saved_weights()
            wait(lambda: views.insight is not None, 300.0)
        dialog = views.explainer.explain(_node(window, name).id, 0, index)
        if dialog is None:
            raise SystemExit(f"studio screenshot: cannot explain {args.explain!r}: "
                             f"{views.feature_maps.info.text()}")
    else:
        dialog = views.draw_test.open()
        if dialog is None:
            raise SystemExit(f"studio screenshot: {views.draw_test.button.toolTip()}")
        from .draw_pad import DrawPad

        _draw(dialog.pad, SEVEN)
        assert isinstance(dialog.pad, DrawPad)
        dialog.update_prediction()
    dialog.resize(min(size[0], 1000), min(size[1], 600))
    for _ in range(3):
        QApplication.processEvents()
    return dialog.grab()


def _draw(pad, points) -> None:
    """One stroke through `points` (fractions of the pad), as the mouse would draw it."""
    pad.resize(max(pad.width(), 300), max(pad.height(), 300))
    a = pad.to_image(_at(pad, points[0]))
    pad._stroke(a, a)
    for p in points[1:]:
        b = pad.to_image(_at(pad, p))
        pad._stroke(a, b)
        a = b


def _at(pad, frac):
    from PySide6.QtCore import QPointF

    side = min(pad.width(), pad.height())
    x0, y0 = (pad.width() - side) / 2, (pad.height() - side) / 2
    return QPointF(x0 + frac[0] * side, y0 + frac[1] * side)
