"""Shared test fixtures."""

import pytest


@pytest.fixture(scope="module")
def torch_one_thread():
    """Run a module's torch work on one thread (the 2-core CI machine runs other work beside it)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
