"""Numbers in the notebooks' prose: computed (glued) values, and the rule that finds a result typed by hand.

A notebook writes every profile-dependent number a reader sees next to its text from the run itself::

    nb.say(f"The fitted slope is {nb.glue('slope', slope, '.2f')} ($N^{{-1/2}}$ predicts $-0.5$).")

:meth:`Notebook.glue <companion.pipeline.notebook.Notebook.glue>` formats a value (:func:`formatted`) and records it
under a name; ``nb.say`` shows the sentence as a Markdown *output* (rendered by JupyterLab, ``nbconvert``, the site
and the repository host alike), and ``nb.finish`` stores the glued values in ``claims.json`` beside the claims
(key ``"glue"``: ``{name: {"value": v, "text": "0.77"}}``).

The literal-number rule (:func:`stale_literals`, used by ``tests/pipeline/test_prose_numbers.py``): a number written
in a markdown cell (or in the literal text of an ``nb.say`` call) is *checked* when it has at least two significant
digits and is not an integer below 100, a year (1900–2099) or a reference number (after "section", "§", "eq.",
"figure", "issue", ...; or a heading's numbering). A checked literal is *stale* when it equals a recorded result of
its notebook (a claim's or check's value, or a glued value) at the literal's printed precision: ``|literal| −
|value|`` within half a unit of the literal's last digit — unless it quotes, sign included, a window bound
(``lo``, ``hi``) of one of the notebook's claims or checks: windows are inputs fixed before the run, so "the window
$[-1.2, -0.8]$" stays a literal even when a result happens to print as 1.2.
"""

import ast
import math
import re

REFERENCE_WORDS = (
    "section",
    "sections",
    "sec.",
    "§",
    "eq.",
    "eqs.",
    "equation",
    "figure",
    "fig.",
    "table",
    "issue",
    "theorem",
    "lemma",
    "proposition",
    "corollary",
    "remark",
    "definition",
    "step",
    "part",
    "version",
    "python",
)
# mantissa, then an optional exponent written as e-3, ×10^-3, \times 10^{-3}, · 10^{-3}, \cdot10^{3}
NUMBER = re.compile(
    r"(?<![\w.])(?P<sign>[-−]?)(?P<mantissa>\d+(?:\.\d+)?|\.\d+)"
    r"(?:(?:[eE](?P<e>[-−+]?\d+))|(?:\s*(?:×|·|\\times|\\cdot)\s*10\s*\^\s*\{?\s*(?P<p>[-−+]?\d+)\s*\}?))?"
    r"(?![\w])"
)
URL = re.compile(r"(?:https?://|www\.)\S+|\]\([^)]*\)")
HEADING = re.compile(r"^\s*#+\s*[\d.]+")


def formatted(value, fmt=".3g"):
    """``value`` as text: ``fmt`` is a format spec (``".2f"``, ``".3g"``, ``"d"``, ``","``) or a callable of the
    value (e.g. :func:`tex_scientific`). Raises ValueError naming ``value``/``fmt`` for a non-number or a bad spec."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
        raise ValueError(f"value: expected a number, got {value!r}")
    if callable(fmt):
        return str(fmt(value))
    if not isinstance(fmt, str):
        raise ValueError(f"fmt: expected a format spec such as '.2f' or a callable, got {fmt!r}")
    number = int(value) if fmt.endswith("d") else float(value)
    if fmt.endswith("d") and number != float(value):
        raise ValueError(f"fmt: '{fmt}' formats integers, got {value!r}")
    try:
        return format(number, fmt)
    except ValueError as err:
        raise ValueError(f"fmt: {fmt!r} is not a format spec for {value!r} ({err})") from err


def tex_scientific(value, digits=2):
    """``value`` with ``digits`` significant digits as LaTeX for ``$…$``: ``1.3 \\times 10^{-3}``, or plain decimals
    when the exponent is between -2 and 3."""
    value = float(value)
    if value == 0 or not math.isfinite(value):
        return format(value, "g")
    exponent = math.floor(math.log10(abs(value)))
    if -2 <= exponent <= 3:
        return format(value, f".{max(digits - 1 - exponent, 0)}f")
    mantissa = value / 10**exponent
    if round(abs(mantissa), digits - 1) >= 10:
        mantissa, exponent = mantissa / 10, exponent + 1
    return f"{mantissa:.{digits - 1}f} \\times 10^{{{exponent}}}"


def glue_record(value, fmt=".3g"):
    """The record ``{"value": v, "text": t}`` of a glued value (``v`` a float, ``t`` its :func:`formatted` text)."""
    text = formatted(value, fmt)
    measured = float(value)
    if not math.isfinite(measured):
        raise ValueError(f"value: a glued number must be finite, got {value!r}")
    return {"value": measured, "text": text}


def literals(text):
    """The numbers written in ``text`` (markdown): ``[(literal, value, half_unit)]`` where ``half_unit`` is half a unit
    of the literal's last printed digit, for those the rule of this module checks."""
    found = []
    for line in text.splitlines():
        line = URL.sub(" ", HEADING.sub(" ", line))
        for match in NUMBER.finditer(line):
            mantissa = match["mantissa"]
            exponent = int((match["e"] or match["p"] or "0").replace("−", "-"))
            before = line[: match.start()].rstrip().lower()
            word = before.split()[-1].lstrip("(*_") if before.split() else ""
            if word in REFERENCE_WORDS or word.endswith("§"):
                continue
            digits = mantissa.replace(".", "").lstrip("0")
            if "." not in mantissa:
                digits = digits.rstrip("0")
            if len(digits) < 2:
                continue
            value = float(mantissa) * 10.0**exponent
            integer = "." not in mantissa and exponent == 0
            if integer and (value < 100 or 1900 <= value <= 2099):
                continue
            decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
            found.append((match.group(0).strip(), value, 0.5 * 10.0 ** (exponent - decimals)))
    return found


def matches(value, half_unit, recorded):
    """Whether ``|recorded|`` prints as ``|value|`` at the literal's precision (``half_unit``)."""
    return abs(abs(float(recorded)) - value) <= half_unit * (1 + 1e-9)


def recorded_windows(document):
    """The finite window bounds (``lo``, ``hi``) of a notebook's ``claims.json`` claims and checks."""
    return {
        float(record[key])
        for record in document.get("claims", [])
        for key in ("lo", "hi")
        if isinstance(record.get(key), (int, float)) and math.isfinite(record[key])
    }


def recorded_results(document):
    """``{label: value}`` of a notebook's ``claims.json`` document: each claim's and check's finite value, and each
    glued value."""
    results = {}
    for record in document.get("claims", []):
        if isinstance(record.get("value"), (int, float)):
            results[f"{record.get('kind', 'claim')}: {record['claim']}"] = record["value"]
    for name, record in document.get("glue", {}).items():
        results[f"glue: {name}"] = record["value"]
    return results


def said_text(source):
    """The literal text of the ``say(...)`` calls in the code ``source`` (an f-string's fixed parts only)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return ""
    parts = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "say":
            for argument in node.args:
                for piece in ast.walk(argument):
                    if isinstance(piece, ast.Constant) and isinstance(piece.value, str):
                        parts.append(piece.value)
    return "\n".join(parts)


def stale_literals(cells, results, windows=()):
    """Each literal number of ``cells`` (``(cell_type, source)`` pairs: markdown cells, and the text of the code
    cells' ``say`` calls) that equals a recorded result and is not one of the ``windows`` bounds (compared with its
    sign, at the literal's precision): ``[(cell index, literal, [labels of the results])]``."""
    stale = []
    for index, (cell_type, source) in enumerate(cells):
        text = source if cell_type == "markdown" else said_text(source) if cell_type == "code" else ""
        for literal, value, half_unit in literals(text):
            signed = -value if literal[0] in "-−" else value
            if any(abs(bound - signed) <= half_unit * 1e-6 for bound in windows):
                continue
            hits = [label for label, recorded in results.items() if matches(value, half_unit, recorded)]
            if hits:
                stale.append((index, literal, hits))
    return stale
