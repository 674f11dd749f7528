"""Shared test fixtures."""

import signal

import pytest

# Tests stop child processes with SIGINT (Ctrl-C). A shell that starts a job in the background hands
# it SIGINT *ignored*, and children inherit an ignored signal across exec, so those tests would hang.
# A handled signal is reset to the default in a child, so install Python's own handler here.
signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="module")
def torch_one_thread():
    """Run a module's torch work on one thread (the 2-core CI machine runs other work beside it)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
