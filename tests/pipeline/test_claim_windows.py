"""Every claim's window is fixed before the run: a constant, or computed without the claim's own measured value.

Static reading of every notebook: for each ``nb.claim(text, value, lo, hi, ...)`` (or ``*window``), the window's
expressions are expanded through the notebook's assignments to the names they use (transitively), and none may
contain the measured value — the value expression itself, or the name it reads when it is a name (``float(x)``,
``x``). A window from a held-out run, a bootstrap's spread or a closed form passes; ``hi = 1 + (value - low)`` does
not (its verdict is a statement about ``low``, and should say so)."""

import ast
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("[0-9]*.py"))


def _assignments(tree):
    """name -> the right-hand sides assigned to it anywhere in the notebook (tuple targets: the whole right side;
    loop variables, which label the claims rather than carry their data, are not followed)."""
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        found.setdefault(name.id, []).append(node.value)
    return found


def _expanded(expressions, assignments):
    """Every sub-expression of ``expressions`` and, transitively, of what their names were assigned."""
    seen, pending, names = [], list(expressions), set()
    while pending:
        node = pending.pop()
        for sub in ast.walk(node):
            seen.append(sub)
            if isinstance(sub, ast.Name) and sub.id not in names:
                names.add(sub.id)
                pending += assignments.get(sub.id, [])
    return seen


def _value_atoms(value):
    """The measured value as text: the expression, and the name it reads when it is one (x, float(x), abs(x))."""
    atoms = {ast.unparse(value)}
    while isinstance(value, ast.Call) and len(value.args) == 1 and ast.unparse(value.func) in ("float", "abs", "int"):
        value = value.args[0]
        atoms.add(ast.unparse(value))
    return atoms


def _claims(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "claim":
            yield node


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_every_claim_window_is_computed_without_its_measured_value(path):
    tree = ast.parse(path.read_text())
    assignments, offenders = _assignments(tree), []
    for call in _claims(tree):
        args = call.args
        starred = [arg.value for arg in args if isinstance(arg, ast.Starred)]
        window = starred or args[2:4]
        assert len(args) >= 3 and window, f"{path.name}:{call.lineno}: a claim needs (text, value, lo, hi)"
        atoms = _value_atoms(args[1])
        used = {ast.unparse(sub) for sub in _expanded(window, assignments)}
        if atoms & used:
            offenders.append(
                f"{path.name}:{call.lineno}: window {[ast.unparse(w) for w in window]} uses the "
                f"measured value {sorted(atoms & used)}"
            )
    assert not offenders, "\n".join(offenders)


def test_the_reading_catches_a_window_from_the_value():
    tree = ast.parse(
        "value, low, _ = bootstrap(x)\nspread = 2 * s\nhi = 1.0 + (value - low)\n"
        "nb.claim('a', float(value), 0.0, hi, 'f', prediction='p')\n"
        "nb.claim('b', x.mean(), 1 - spread, 1 + spread, 'f', prediction='p')\n"
    )
    assignments = _assignments(tree)
    verdicts = [
        bool(_value_atoms(call.args[1]) & {ast.unparse(s) for s in _expanded(call.args[2:4], assignments)})
        for call in _claims(tree)
    ]
    assert verdicts == [True, False]
