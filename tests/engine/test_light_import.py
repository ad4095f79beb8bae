"""The engine installs and imports light: torch, numpy, scipy (and tqdm) only."""

import json
import subprocess
import sys

HEAVY = ("pandas", "ot", "matplotlib", "seaborn")


def loaded_after(statement):
    code = f"import sys, json; {statement}; print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_importing_the_engine_loads_no_analysis_or_plotting_package():
    assert loaded_after("import companion.engine") == []
    assert loaded_after("from companion import simulate, init_particles, teacher") == []


def test_the_coupling_loads_neither_pandas_nor_pot():
    assert loaded_after("from companion import coupled_run") == []
