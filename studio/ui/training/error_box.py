"""The error box above the run controls: one sentence, the node to blame, the traceback."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

ERROR_STYLE = ("background:#fde8e8; color:#8a1c1c; border:1px solid #e6a0a0; "
               "border-radius:4px; padding:4px 8px;")


class ErrorBox(QFrame):
    """A run's error: one sentence, the node to blame, and the traceback on demand.
    `show_node(node_id)` when "Show node" is pressed."""

    show_node = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setStyleSheet(f"ErrorBox {{{ERROR_STYLE}}}")
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.node_button = QPushButton("Show node")
        self.node_button.clicked.connect(lambda: self.show_node.emit(self.node_id or ""))
        self.details_button = QPushButton("Details")
        self.details_button.setCheckable(True)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setMaximumHeight(120)
        self.details.hide()
        self.details_button.toggled.connect(self.details.setVisible)
        close = QPushButton("✕")
        close.setFixedWidth(26)
        close.clicked.connect(self.hide)
        row = QHBoxLayout()
        row.addWidget(self.text, 1)
        row.addWidget(self.node_button)
        row.addWidget(self.details_button)
        row.addWidget(close)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.addLayout(row)
        lay.addWidget(self.details)
        self.node_id: str | None = None
        self.hide()

    def show_error(self, message: str, node_id: str | None = None, details: str = "") -> None:
        self.text.setText(f"<b>Training stopped:</b> {message}")
        self.node_id = node_id
        self.node_button.setVisible(bool(node_id))
        self.details.setPlainText(details)
        self.details_button.setVisible(bool(details))
        self.show()
