"""What the Training panel does so that a run's start and end do not stall the window: the
banner that says the graph is locked (above the settings column, so that showing it never
re-lays out the plots), the metrics the next run will report (their plots are placed while
nothing runs, not as the run starts), and a run's end in steps, each in a turn of its own
(the last points, the re-enabled forms: in one turn with the rest of the end, their layout
and paint were the largest stall)."""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QLabel

BANNER_STYLE = ("background:#fff4d6; color:#6b4e00; border:1px solid #e8c46a; "
                "border-radius:4px; padding:4px 8px;")


def locked_banner() -> QLabel:
    """The banner shown while a run trains (hidden until then)."""
    banner = QLabel("Training in progress: the graph is locked. Stop the run to edit the "
                    "model.")
    banner.setWordWrap(True)
    banner.setStyleSheet(BANNER_STYLE)
    banner.hide()
    return banner


def expected_metrics(document) -> list[str]:
    """The metrics the next run of the document's project will report per epoch, as the
    trainer chooses them (engine.train.config) from the training settings and the tasks
    of the dataset's profile; [] when that is not known yet (no profile, invalid settings)
    or the model has several losses (the curves then show none of them)."""
    from engine.train.config import ConfigError, losses_for, metrics_for, resolve_config

    profile = document.fit.profile
    if profile is None or profile.error:
        return []
    try:
        cfg = resolve_config(document.project.training)
        n_outputs = max(1, len(document.graph.outputs()))
        losses = losses_for(cfg, [t.task for t in profile.targets], n_outputs)
    except (ConfigError, KeyError, TypeError, ValueError):
        return []
    return metrics_for(cfg, losses) if len(losses) <= 1 else []


# between the steps of a run's end: the window paints and takes input in between
STEP_GAP_MS = 10


def in_turns(owner: QObject, steps: list[Callable[[], object]], still: Callable[[], bool],
             gap_ms: int = STEP_GAP_MS) -> None:
    """Run `steps` one per event-loop turn, `gap_ms` apart, while `still()` holds (the
    rest is dropped once it does not: a new run started). Nothing runs after `owner` is
    deleted."""
    if not steps:
        return

    def step() -> None:
        if still():
            steps[0]()
            in_turns(owner, steps[1:], still, gap_ms)

    QTimer.singleShot(gap_ms, owner, step)
