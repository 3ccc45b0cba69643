"""The node-graph canvas: a QGraphicsScene that mirrors the engine Graph (items follow graph
events, never the other way round) and a QGraphicsView with the editing interactions."""
from .scene import GraphScene
from .view import GraphView

__all__ = ["GraphScene", "GraphView"]
