"""The hostile-input cases of issue 13, by family (see runner.py for how each is judged)."""
from __future__ import annotations

from .cases_files import family1, family2, family4, family7
from .cases_sizes import family3, family5, family8
from .cases_training import family6, family9, family11
from .runner import Case


def all_cases() -> list[Case]:
    cases = [*family1(), *family2(), *family3(), *family4(), *family5(), *family6(),
             *family7(), *family8(), *family9(), *family11()]
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), "duplicate case names"
    return cases
