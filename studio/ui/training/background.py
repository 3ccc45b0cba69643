"""BackgroundCall lives in studio.background (the document uses it too)."""
from studio.background import BackgroundCall

__all__ = ["BackgroundCall"]
