import pytest


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny models on a shared 2-core machine: one intra-op thread avoids OpenMP barrier
    stalls (tens of ms per op when the cores are busy) without changing any result.
    Restored after each test, so other suites are unaffected."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
