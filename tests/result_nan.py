"""Whether a public function's result carries NaN: the "silent" outcome of the contract batteries
(tests/test_contracts.py, tests/test_fresh_battery.py)."""

import math

import numpy as np
import torch


def has_nan(result):
    """Whether a result (tensor, array, number, DataFrame, or a tuple/list/dict of them) has a NaN."""
    if torch.is_tensor(result):
        return result.is_floating_point() and bool(torch.isnan(result.detach()).any())
    if isinstance(result, np.ndarray):
        return result.dtype.kind == "f" and bool(np.isnan(result).any())
    if isinstance(result, float):
        return math.isnan(result)
    if isinstance(result, (tuple, list)):
        return any(has_nan(item) for item in result)
    if isinstance(result, dict):
        return any(has_nan(item) for item in result.values())
    if hasattr(result, "select_dtypes"):  # a DataFrame
        return bool(np.isnan(result.select_dtypes("number").to_numpy(dtype=np.float64)).any())
    return False
