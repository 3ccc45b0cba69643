"""Views whose plots are made when they are first shown. A pyqtgraph plot costs 20-70 ms of
GUI-thread CPU to make (several times that on a loaded machine), and the Training panel has
a dozen of them in tabs most users never open in a session (a GAN's, a VAE's): making them
with the panel froze the window for most of a second after it first painted.

A view keeps what it is given (the data) from the start; its plots are made, themed and
drawn from that data the first time it is shown. While it is hidden, new data is only kept,
and drawn when it is shown again (no GUI-thread work for a tab nobody looks at)."""
from __future__ import annotations


class BuiltWhenShown:
    """Mix into a QWidget view (before QWidget). The subclass makes its cheap widgets in
    `__init__` and its plots in `_build()`; `_render()` draws the kept data on them. Setters
    keep their data and call `self._changed()`: drawn now if the view is built and visible,
    else when it is next shown. `ensure_drawn()` makes the plots and draws at once (a view
    grabbed or tested without being on screen)."""

    _built = False
    _stale = False

    @property
    def built(self) -> bool:
        return self._built

    def ensure_drawn(self) -> None:
        """Make the plots (once, in the current theme's colours) and draw the kept data."""
        if not self._built:
            self._built = self._stale = True
            self._build()
            from studio.ui.theme import style_plots
            style_plots(self)
        if self._stale:
            self._stale = False
            self._render()

    def _changed(self) -> None:
        if self._built and self.isVisible():
            self._stale = False
            self._render()
        else:
            self._stale = True

    def _cleared(self) -> None:
        """Drawn now if built, shown or not: clearing is cheap, and nothing of another
        project may stay drawn."""
        if self._built:
            self._stale = False
            self._render()

    def showEvent(self, event) -> None:
        self.ensure_drawn()
        super().showEvent(event)

    def _build(self) -> None:
        raise NotImplementedError

    def _render(self) -> None:
        raise NotImplementedError
