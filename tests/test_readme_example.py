"""The README's "Use the engine in your own script" example runs exactly as written, on the public API."""

import re
from pathlib import Path

import companion

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = "## Use the engine in your own script"


def example_code():
    """The one python code block of the README section."""
    text = README.read_text(encoding="utf-8")
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1, f"{SECTION!r} should hold exactly one python code block, found {len(blocks)}"
    return blocks[0]


def test_readme_example_uses_only_the_public_api():
    imported = re.search(r"from companion import \(?([^)]*?)\)?\n\n", example_code(), re.S).group(1)
    names = {name.strip() for name in imported.replace("\n", " ").split(",") if name.strip()}
    assert names and names <= set(companion.__all__)


def test_readme_example_runs_as_written(capsys):
    exec(compile(example_code(), str(README), "exec"), {"__name__": "__readme__"})
    printed = capsys.readouterr().out
    assert "population risk" in printed and "coupling error" in printed
