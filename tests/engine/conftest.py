"""Engine tests compare against float64 closed forms: float64 is the default dtype inside each test, and only there."""

import pytest
import torch


@pytest.fixture(autouse=True)
def float64_default():
    """Set torch's default dtype to float64 for one test and restore the previous default afterwards."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)
