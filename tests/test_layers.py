"""The package is three layers, read from the imports: engine <- analysis <- pipeline, never the other way."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "companion"
LAYERS = ("engine", "analysis", "pipeline")
FORBIDDEN = {"engine": {"analysis", "pipeline"}, "analysis": {"pipeline"}, "pipeline": {"analysis"}}
# The pipeline may use torch to choose a device and dtype, the engine's named random streams (nb.stream) and, in the
# cache, get_activation to rebuild a stored activation from its name (an activation holds functions, so it is stored
# by name, never as code), but no module of the engine's or the analysis' math.
PIPELINE_ENGINE_ALLOWED = {"seeding", "activations"}


def imported_companion_modules(path):
    """Dotted names of the ``companion`` modules that ``path`` imports (relative imports resolved)."""
    layer = path.parent.name
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("companion")}
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module and node.module.startswith("companion"):
                base = node.module
            elif node.level == 1:
                base = f"companion.{layer}" + (f".{node.module}" if node.module else "")
            elif node.level == 2:
                base = "companion" + (f".{node.module}" if node.module else "")
            else:
                continue
            found |= {base} | {f"{base}.{alias.name}" for alias in node.names}
    return found


def layer_modules(layer):
    return sorted((PACKAGE / layer).glob("*.py"))


@pytest.mark.parametrize("layer", LAYERS)
def test_layer_imports_no_upper_layer(layer):
    for path in layer_modules(layer):
        for module in imported_companion_modules(path):
            parts = module.split(".")
            if len(parts) > 1 and parts[1] in FORBIDDEN[layer]:
                pytest.fail(f"companion/{layer}/{path.name} imports {module}: {layer} must not import {parts[1]}")


def test_pipeline_imports_no_engine_math():
    for path in layer_modules("pipeline"):
        for module in imported_companion_modules(path):
            parts = module.split(".")
            if len(parts) > 2 and parts[1] == "engine" and parts[2] not in PIPELINE_ENGINE_ALLOWED:
                pytest.fail(f"companion/pipeline/{path.name} imports {module}")


def test_every_module_belongs_to_a_layer():
    loose = sorted(path.name for path in PACKAGE.glob("*.py") if path.name != "__init__.py")
    assert not loose, f"modules outside engine/, analysis/, pipeline/: {loose}"


def test_paths_and_profiles_load_without_torch():
    import subprocess
    import sys

    code = (
        "import sys; import companion.pipeline.paths as p; assert p.PROFILES == ('quick', 'standard', 'paper'); "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PACKAGE.parent)


def test_public_names_are_documented():
    """Every name of ``dir(companion)`` resolves and says what it is in its docstring's first line."""
    import companion

    for name in companion.__all__:
        doc = (getattr(companion, name).__doc__ or "").strip()
        assert doc and len(doc.splitlines()[0]) > 10, f"companion.{name} has no docstring summary"
