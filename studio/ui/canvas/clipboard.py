"""Copy and paste of nodes through the system clipboard (works between windows and between
Studio processes): JSON under "application/x-studio-nodes" and as plain text."""
from __future__ import annotations

import json

from PySide6.QtCore import QMimeData, QPointF
from PySide6.QtGui import QGuiApplication

from ...commands import NODES_MIME, nodes_to_clip, paste_command
from ...document import Document


def copy_nodes(document: Document, node_ids: list[str]) -> bool:
    if not node_ids:
        return False
    payload = json.dumps(nodes_to_clip(document.edit_graph, node_ids), indent=1)
    mime = QMimeData()
    mime.setData(NODES_MIME, payload.encode("utf-8"))
    mime.setText(payload)
    QGuiApplication.clipboard().setMimeData(mime)
    return True


def clipboard_nodes() -> dict | None:
    """The Studio nodes on the clipboard (from the mime type or from JSON text), or None."""
    mime = QGuiApplication.clipboard().mimeData()
    if mime is None:
        return None
    if mime.hasFormat(NODES_MIME):
        raw = bytes(mime.data(NODES_MIME)).decode("utf-8", "replace")
    elif mime.hasText():
        raw = mime.text()
    else:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("format") != "studio-nodes":
        return None
    return data


def paste_nodes(document: Document, at: QPointF | None = None,
                clip: dict | None = None) -> list[str]:
    """Paste the clipboard nodes (at `at`, or offset from the originals); returns new ids."""
    clip = clip if clip is not None else clipboard_nodes()
    if not clip or not clip.get("nodes"):
        return []
    offset = (40.0, 40.0)
    if at is not None:
        xs = [float(n.get("pos", (0, 0))[0]) for n in clip["nodes"]]
        ys = [float(n.get("pos", (0, 0))[1]) for n in clip["nodes"]]
        offset = (at.x() - min(xs), at.y() - min(ys))
    try:
        cmd = paste_command(document.edit_graph, clip, offset)
    except (ValueError, KeyError) as exc:  # an unknown layer type or a bad param
        document.error.emit(f"cannot paste: {str(exc).strip(chr(39))}")
        return []
    if not document.try_push(cmd):
        return []
    return list(cmd.new_ids.values())
