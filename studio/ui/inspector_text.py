"""The inspector's building blocks: labels, section titles and forms in its style, and the
text it shows for types, MACs and multi-line explanations."""
from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QFormLayout, QLabel

from engine.graph import Node
from engine.layers import LayerSpec

MUTED = "color: #808890;"
ERROR = "color: #d0342c;"
WARNING = "color: #c07a10;"
EMPTY_TEXT = "Select a node on the canvas to see and edit its parameters."


def mono_font() -> QFont:
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    return font


def text_label(text: str = "", style: str = "", wrap: bool = True, mono: bool = False) -> QLabel:
    lab = QLabel(text)
    lab.setWordWrap(wrap)
    lab.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if style:
        lab.setStyleSheet(style)
    if mono:
        lab.setFont(mono_font())
    return lab


def section_title(title: str) -> QLabel:
    lab = QLabel(title.upper())
    lab.setStyleSheet("font-weight: 600; font-size: 8pt; color: #7a828c; "
                      "border-bottom: 1px solid #c8ccd2; padding-top: 8px; padding-bottom: 1px;")
    return lab


def form_layout() -> QFormLayout:
    form = QFormLayout()
    form.setContentsMargins(0, 2, 0, 2)
    form.setHorizontalSpacing(8)
    form.setVerticalSpacing(4)
    form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    return form


def lines_html(text: str, color: str | None = None) -> str:
    """Each line a paragraph with a hanging indent, so wrapped formulas stay readable."""
    style = "margin: 0 0 2px 12px; text-indent: -12px;" + (f" color: {color};" if color else "")
    return "".join(f"<p style='{style}'>{html.escape(line)}</p>" for line in text.splitlines())


def types_text(ports: list[str], types) -> str:
    if types is None:
        return "?"
    if len(ports) == 1 or len(ports) != len(types):
        return ", ".join(map(str, types)) or "—"
    return "\n".join(f"{port}: {t}" for port, t in zip(ports, types))


def macs_text(spec: LayerSpec, node: Node, ins, outs) -> str:
    if ins is None or outs is None:
        return "?"
    try:
        return f"{spec.flops(node.params, ins, outs):,}"
    except Exception:  # a spec bug must not break the inspector
        return "?"
