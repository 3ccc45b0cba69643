"""The note above the canvas when a lesson preset is open: what to do and what to watch (the
project's meta "lesson"), until it is closed or another project is opened."""
from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

STYLE = ("QFrame#lessonNote { background: palette(alternate-base); border: 1px solid "
         "palette(mid); border-left: 4px solid #2f7ed8; border-radius: 3px; }")


class LessonNote(QFrame):
    def __init__(self, document, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.setObjectName("lessonNote")
        self.setStyleSheet(STYLE)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Hide the lesson's note")
        close.clicked.connect(self.hide)
        self.close_button = close
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 4, 4)
        row.addWidget(self.text, 1)
        row.addWidget(close)
        document.graph_replaced.connect(self.refresh)
        self.refresh()

    def refresh(self, *_) -> None:
        meta = self.document.project.meta
        lesson = meta.get("lesson") if isinstance(meta.get("lesson"), str) else ""
        title = meta.get("description", "") if lesson else ""
        self.text.setText((f"<b>{escape(title)}</b><br>" if title else "") + escape(lesson))
        self.setVisible(bool(lesson))
