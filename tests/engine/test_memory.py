"""The memory refusal of the contracts: the limit is the memory the kernel says is available (MemAvailable, page
cache included), and the estimates of what a call allocates are close to what it really allocates."""

import json
import subprocess
import sys

import pytest
import torch

from companion.engine import contract, gaussian_kernel
from companion.engine.activations import get_activation
from companion.engine.kernels import _kernel_memory

MEMINFO = """MemTotal:       24731400 kB
MemFree:         1048576 kB
MemAvailable:   23068672 kB
Buffers:            2048 kB
Cached:         20971520 kB
"""


def test_memory_limit_reads_memavailable_not_free_memory(tmp_path, monkeypatch):
    """1 GiB free but 22 GiB available (the page cache can be dropped): the limit is 22 GiB."""
    meminfo = tmp_path / "meminfo"
    meminfo.write_text(MEMINFO)
    monkeypatch.setattr(contract, "MEMINFO", str(meminfo))
    assert contract.memory_limit() == 23068672 * 1024
    contract.refuse_memory("n", 15 * 2**30)  # refused under SC_AVPHYS_PAGES (1 GiB free), accepted now
    with pytest.raises(ValueError, match=r"^n: this call would allocate about 30.0 GiB, more than the 22.0 GiB"):
        contract.refuse_memory("n", 30 * 2**30)


@pytest.mark.parametrize("text", [None, "MemTotal: 1000 kB\nMemFree: 10 kB\n", "MemAvailable: lots\n"])
def test_memory_limit_without_memavailable_is_a_share_of_physical_memory(tmp_path, monkeypatch, text):
    """No /proc/meminfo, or one without a readable MemAvailable (Linux < 3.14): PHYSICAL_SHARE of SC_PHYS_PAGES."""
    meminfo = tmp_path / "meminfo"
    if text is not None:
        meminfo.write_text(text)
    monkeypatch.setattr(contract, "MEMINFO", str(meminfo))
    import os

    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert contract.memory_limit() == int(contract.PHYSICAL_SHARE * physical)


def test_kernel_estimate_grows_with_pairs_not_with_series_terms():
    """The Mehler series is summed term by term: K multiplies the rows (N + M), never the pairs N·M. An erf call of
    4·10⁶ pairs (96 terms) was estimated at 11.4 GiB for a few hundred MB before."""
    W, V = torch.zeros(2000, 3, dtype=torch.float64), torch.zeros(2000, 3, dtype=torch.float64)
    erf, he3 = get_activation("erf"), get_activation("he3")
    assert _kernel_memory(erf, W, V, None) < 2**30
    assert _kernel_memory(erf, W, V, None) < 1.1 * _kernel_memory(he3, W, V, None)


PROBE = """
import json, sys, torch
from companion.engine import gaussian_kernel
from companion.engine.activations import get_activation
from companion.engine.kernels import _kernel_memory
name, shape_w, shape_v, dtype = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]), getattr(torch, sys.argv[4])
gen = torch.Generator().manual_seed(0)
W = torch.randn(shape_w, generator=gen, dtype=dtype) / 3  # norms near 0.6: the series converges, no exact pairs
V = torch.randn(shape_v, generator=gen, dtype=dtype) / 3
def status(field):  # kB in /proc/self/status
    return int(next(line for line in open("/proc/self/status") if line.startswith(field)).split()[1]) * 1024
gaussian_kernel(name, W[..., :50, :], V[..., :50, :])  # warm: libraries and caches loaded before the baseline
before = status("VmRSS:")
with open("/proc/self/clear_refs", "w") as handle:  # reset the peak (VmHWM) to the current resident size
    handle.write("5")
gaussian_kernel(name, W, V)
measured = status("VmHWM:") - before
print(json.dumps(dict(measured=measured, estimate=_kernel_memory(get_activation(name), W, V, None))))
"""
FACTOR = 3  # the estimate is within [measured / 1.2, FACTOR × measured]: 1.2 allows for the allocator's own slack


@pytest.mark.parametrize(
    "name, shape_w, shape_v, dtype",
    [
        ("erf", [2000, 3], [2000, 3], "float64"),  # closed form
        ("tanh", [2, 1000, 3], [2000, 3], "float64"),  # series, 96 terms, batched
        ("relu", [1500, 2], [3000, 2], "float32"),  # closed form, float32
        ("he3", [2000, 4], [2000, 4], "float64"),  # polynomial: exact series
    ],
)
def test_kernel_estimate_is_within_a_factor_of_the_measured_peak(name, shape_w, shape_v, dtype):
    """Peak resident memory of the call in a fresh process (VmHWM after resetting it; calls of 50-250 MB, well above
    the allocator's noise)."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE, name, json.dumps(shape_w), json.dumps(shape_v), dtype],
        capture_output=True,
        text=True,
        check=True,
    )
    numbers = json.loads(out.stdout)
    measured, estimate = numbers["measured"], numbers["estimate"]
    assert measured / 1.2 <= estimate <= FACTOR * measured, numbers


def test_gaussian_kernel_refuses_what_cannot_fit(monkeypatch):
    monkeypatch.setattr(contract, "memory_limit", lambda: 2**20)
    W = torch.zeros(200, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"^W: this call would allocate about"):
        gaussian_kernel("erf", W, W)
