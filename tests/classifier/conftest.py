"""Fixtures for the engine's model tests."""

import pytest
import torch


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Run these tiny tensors on one thread."""
    # On a busy 2-core machine torch's spinning thread barriers made the same work 4-13x slower with two threads.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
