"""Every hostile case (tests/robustness/hostile) ends in exit code 1 with one sentence naming
the file and the problem (or succeeds without damage where that is the documented behaviour),
writes nothing outside its output, stays under twice the memory budget and never hangs."""
from __future__ import annotations

import pytest

from .hostile import all_cases
from .hostile.runner import judge

CASES = all_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_case(case, tmp_path):
    result, found = judge(case, tmp_path / "case")
    assert not found, f"{case.id}: " + "; ".join(found)
