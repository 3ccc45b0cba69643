"""An edit's validation in steps (Document's part): after a param edit the validator
re-infers a bounded number of nodes (plus those in view) before the canvas shows it, and the
rest one step per turn of the event loop, first in the idle queue; `validated` is emitted
once it is all done. A 1,000-node graph's edit then shows within a frame."""
from __future__ import annotations


class SteppedValidation:
    """Mixin of Document: uses its `_validator`, `idle`, `scope`, `in_view` and signals;
    `_walking` and `_shown_version` are set in its __init__ and _install."""

    #: after a param edit, nodes re-inferred before the canvas shows it; the rest follow in
    #: steps of this many, one per turn of the event loop (`validated` once all is done)
    VALIDATION_STEP = 150

    def _after_edit(self, _index: int = 0) -> None:
        try:
            needed = self.in_view() if self.in_view and not self.scope.levels else ()
        except RuntimeError:   # the canvas was closed
            needed = ()
        report = self._report = self._validator.validate(
            None if self.scope.levels else self.VALIDATION_STEP, needed)
        self._walking = not report.complete
        if self._walking:
            self.idle.add(self._validation_step, first=True)
        else:
            self.validated.emit(report)
        if self.scope.prune():
            self.scope_changed.emit(self.edit_graph)
        self._shown_version = report.version
        self.edit_validated.emit(self.scope.report(report))

    @property
    def validating(self) -> bool:
        """True while an edit's validation goes on in the idle queue (`validated` follows)."""
        return self._walking

    def _validation_step(self) -> None:
        self.finish_validation(self.VALIDATION_STEP)

    def finish_validation(self, limit: int | None = None) -> None:
        """Go on with an edit's validation (all of it, or `limit` nodes) and show what it
        changed (tests and screenshots call it to see the edit's whole effect at once)."""
        if not self._walking:
            return
        report = self._report = self._validator.validate(limit)
        if report.version != self._shown_version:   # report() may have finished it
            self._shown_version = report.version
            self.edit_validated.emit(self.scope.report(report))
        if report.complete:
            self._walking = False
            self.validated.emit(report)
        else:
            self.idle.add(self._validation_step, first=True)
