"""Build the static site (``make book``): executed notebooks, figures gallery, claims and API pages, via Sphinx.

``python -m companion.pipeline.site [--notebooks DIR] [--figures DIR] [--out DIR]`` stages ``docs/`` (the front page;
``docs/conf.py`` is the Sphinx configuration and says why Sphinx + MyST-NB), the executed notebooks of ``--notebooks``
(default ``figures/notebooks``, which ``make figures`` writes) and three generated pages in ``build/site-src/``,
then runs ``sphinx-build`` into ``--out`` (default ``build/site``). Nothing is executed: the notebook pages show the
stored outputs. The generated pages take every number, caption and name from their source, never typed:

- ``gallery.md``: each ``figures/<notebook>/<figure>.png`` with the caption from ``<figure>.json``;
- ``claims.md``: the counts and the table of ``figures/claims.json``;
- ``api.md``: autodoc directives for the public names of :mod:`companion.engine` and :mod:`companion.analysis`.
"""

import argparse
import ast
import inspect
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from .claims import claims_first, kind_of
from .claims import counts as kind_counts
from .paths import REPO_ROOT, build_root, committed_figures_root

DOCS = REPO_ROOT / "docs"
EXECUTED_NAME = re.compile(r"^\d\d[a-z]?_[A-Za-z0-9_]+\.ipynb$")
API_MODULES = ("companion.engine", "companion.analysis")
MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>$|#~])")
INLINE_MATH = re.compile(r"(\$[^$\n]+\$)")


def escape(text):
    """``text`` with MyST markdown's special characters backslash-escaped, so it reads literally."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


def escape_text(text):
    """``text`` escaped like :func:`escape` outside its ``$…$`` spans, which stay math (MathJax typesets them)."""
    return "".join(part if INLINE_MATH.fullmatch(part) else escape(part) for part in INLINE_MATH.split(str(text)))


def executed_notebooks(folder):
    """The executed notebooks ``NN_name.ipynb`` of ``folder``, sorted; a clear error if there are none.

    A notebook counts as executed when at least one of its code cells has outputs. Raises ``FileNotFoundError`` when
    ``folder`` is missing or holds no ``NN_name.ipynb``, ``ValueError`` when one of them was never executed.
    """
    folder = Path(folder)
    found = sorted(path for path in folder.glob("*.ipynb") if EXECUTED_NAME.match(path.name)) if folder.is_dir() else []
    if not found:
        raise FileNotFoundError(
            f"notebooks: no executed notebook NN_name.ipynb in {folder}; run `make figures` (it writes them to "
            f"figures/notebooks/) or pass --notebooks FOLDER of executed notebooks"
        )
    for path in found:
        cells = json.loads(path.read_text())["cells"]
        if not any(cell.get("outputs") for cell in cells if cell["cell_type"] == "code"):
            raise ValueError(f"notebooks: {path} has no outputs; the site shows executed notebooks only")
    return found


def assignments(source):
    """``{name: line}`` of the top-level ``name = value`` lines of a parameters cell's ``source``."""
    found = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            found[node.targets[0].id] = ast.get_source_segment(source, node)
    return found


def merge_parameters(notebook):
    """Show the parameters once: papermill's ``injected-parameters`` cell gets the tag ``remove-cell`` (the site
    leaves it out) and the notebook's ``parameters`` cell shows the values the run used, each injected value that
    differs from the default marked ``# injected by the run``. ``notebook`` is the executed notebook's JSON (changed
    in place and returned)."""
    cells = notebook["cells"]
    tagged = [
        [cell for cell in cells if tag in cell.get("metadata", {}).get("tags", [])]
        for tag in ("parameters", "injected-parameters")
    ]
    if not all(len(found) == 1 for found in tagged):
        return notebook
    (defaults,), (injected,) = tagged
    source = "".join(defaults["source"])
    for name, line in assignments("".join(injected["source"])).items():
        default = assignments(source).get(name)
        if default is None:
            source = f"{source.rstrip()}\n{line}  # injected by the run"
        elif default != line:
            source = source.replace(default, f"{line}  # injected by the run", 1)
    defaults["source"] = source
    injected.setdefault("metadata", {}).setdefault("tags", []).append("remove-cell")
    return notebook


def with_contents(notebook):
    """The notebook page's layout on the site: its sections listed under the title (a MyST ``contents`` directive in
    a cell after the one that starts with the ``# title``), in place of the right-hand contents column, which the page
    drops (``html_theme.sidebar_secondary.remove``) so that the notebook's 120-character code and its figures get the
    width (``docs/_static/companion.css``). ``notebook`` is the executed notebook's JSON (changed and returned)."""
    notebook["metadata"]["html_theme.sidebar_secondary.remove"] = True
    first = next(
        (
            index
            for index, cell in enumerate(notebook["cells"])
            if cell["cell_type"] == "markdown" and "".join(cell["source"]).lstrip().startswith("# ")
        ),
        None,
    )
    if first is not None:
        contents = {
            "cell_type": "markdown",
            "id": "site-contents",
            "metadata": {},
            "source": "```{contents} Sections\n:local:\n:depth: 1\n:backlinks: none\n:class: companion-contents\n```",
        }
        notebook["cells"].insert(first + 1, contents)
    return notebook


def figure_records(figures):
    """``{notebook: [figure metadata, ...]}`` from ``figures/<notebook>/<figure>.json`` files that name an image
    (the PNG of a figure, the GIF of an animation; tables have none).

    Each record is the figure's JSON with ``png`` (the image's path) added, in the figure's ``order``.
    """
    records = {}
    for folder in sorted(path for path in Path(figures).iterdir() if path.is_dir()):
        metadata = []
        for path in sorted(folder.glob("*.json")):
            record = json.loads(path.read_text())
            files = record.get("files", {}) if isinstance(record, dict) else {}
            png = files.get("png") or files.get("gif")
            if png and (folder / png).is_file():
                metadata.append(record | {"png": folder / png})
        if metadata:
            records[folder.name] = sorted(metadata, key=lambda record: (record.get("order", 0), record["png"].name))
    return records


def notebook_link(notebook, pages, short=False):
    """A link to the notebook's page when the site has it, else its name; ``short``: the number ``NN`` only."""
    label = notebook.split("_")[0] if short else notebook
    return f"{{doc}}`{label} <notebooks/{notebook}>`" if notebook in pages else escape(label)


def gallery_page(records, stage, pages):
    """Markdown of the gallery; copies each PNG to ``stage/gallery/<notebook>/``."""
    lines = [
        "# Figures gallery",
        "",
        "Every figure the notebooks saved under `figures/`, with the caption recorded in its JSON metadata.",
        "",
    ]
    for notebook, figures in records.items():
        target = stage / "gallery" / notebook
        target.mkdir(parents=True, exist_ok=True)
        lines += [f"## {escape(notebook)}", "", f"From {notebook_link(notebook, pages)}.", ""]
        for record in figures:
            shutil.copy2(record["png"], target / record["png"].name)
            caption = escape_text(record.get("caption") or record["png"].stem)
            lines += [
                f"```{{figure}} gallery/{notebook}/{record['png'].name}",
                f":alt: {record['png'].stem}",
                f":name: fig-{notebook}-{record['png'].stem}",
                "",
                caption,
                "```",
                "",
            ]
    return "\n".join(lines)


def claim_counts(claims):
    """``{notebook: (claims passed, claims failed, checks passed, checks failed)}`` of the records in
    ``claims["claims"]``, plus ``"total"``."""
    by_notebook = {}
    for record in claims["claims"]:
        by_notebook.setdefault(record["notebook"], []).append(record)
    rows = {}
    for notebook, records in sorted(by_notebook.items()):
        tally = kind_counts(records)
        rows[notebook] = (
            tally["claim"]["passed"],
            tally["claim"]["failed"],
            tally["check"]["passed"],
            tally["check"]["failed"],
        )
    rows["total"] = tuple(sum(column) for column in zip(*rows.values())) if rows else (0, 0, 0, 0)
    return rows


def number(value):
    """A claim's value or bound for the table: 4 significant digits, or an em dash for ``None``."""
    return "—" if value is None else f"{value:.4g}"


def expected(record):
    """The window of a record as table text: ``[lo, hi]``, ``≥ lo`` or ``≤ hi``."""
    lo, hi = record["lo"], record["hi"]
    if lo is None:
        return f"≤ {number(hi)}"
    if hi is None:
        return f"≥ {number(lo)}"
    return f"[{number(lo)}, {number(hi)}]"


def list_table(name, header, rows, widths=None):
    """A MyST ``list-table`` (its HTML id is ``name``, class ``companion-table``: fixed layout, cells wrap) of
    ``header`` and ``rows`` (cells already markdown); ``widths`` are relative column widths."""
    if not rows:
        return ["None recorded.", ""]
    lines = ["```{list-table}", ":header-rows: 1", f":name: {name}", ":class: companion-table"]
    lines += [f":widths: {' '.join(map(str, widths))}"] if widths else []
    lines.append("")
    for row in [header, *rows]:
        lines += [f"* - {row[0]}", *(f"  - {cell}" for cell in row[1:])]
    return lines + ["```", ""]


def claims_page(claims, pages):
    """Markdown of the claims page: counts of claims and checks per notebook, then every claim (verdict first, with
    its prediction), then every check; the records' ``$…$`` math is typeset."""
    counts = claim_counts(claims)
    summary = [
        [notebook_link(name, pages) if name != "total" else "**total**", *map(str, row)] for name, row in counts.items()
    ]

    def row(record):
        verdict = "pass" if record["passed"] else "**FAIL**"
        return [
            verdict,
            notebook_link(record["notebook"], pages, short=True),
            escape_text(record["claim"]),
            *([escape_text(record.get("prediction") or "")] if kind_of(record) == "claim" else []),
            number(record["value"]),
            expected(record),
        ]

    records = claims_first(claims["claims"])
    lines = [
        "---",
        "html_theme.sidebar_secondary.remove: true",
        "---",
        "",
        "# Claims",
        "",
        "Each notebook compares its measurements with predictions (from theory or an independent computation: "
        "**claims**, which can fail) and guards its implementation with **checks** (identities and sanity "
        "bounds, never counted as evidence). Both are recorded in `figures/claims.json`; this page is generated "
        "from that file when the site is built.",
        "",
    ]
    lines += list_table(
        "claims-summary", ["notebook", "claims passed", "claims failed", "checks passed", "checks failed"], summary
    )
    failed = [record for record in records if not record["passed"]]
    if failed:
        lines += [
            "## What fails",
            "",
            f"{len(failed)} of the {len(records)} claims and checks fail; each is also in its table below.",
            "",
        ]
        lines += list_table(
            "claims-failed",
            ["result", "nb", "claim or check", "value", "expected"],
            [
                [cell for index, cell in enumerate(row(record)) if index != 3 or kind_of(record) != "claim"]
                for record in failed
            ],
            widths=(7, 4, 68, 9, 12),
        )
    lines += ["## Every claim", ""]
    lines += list_table(
        "claims-detail",
        ["result", "nb", "claim", "prediction", "value", "expected"],
        [row(record) for record in records if kind_of(record) == "claim"],
        widths=(7, 4, 40, 30, 9, 10),
    )
    lines += ["## Every check", ""]
    lines += list_table(
        "checks-detail",
        ["result", "nb", "check", "value", "expected"],
        [row(record) for record in records if kind_of(record) == "check"],
        widths=(7, 4, 68, 9, 12),
    )
    return "\n".join(lines)


def public_names(module):
    """The public names of ``module`` (``dir`` order), with the autodoc directive each needs."""
    directives = []
    for name in sorted(vars(module)):
        value = getattr(module, name)
        if name.startswith("_") or inspect.ismodule(value):
            continue
        kind = "autoclass" if inspect.isclass(value) else "autofunction" if callable(value) else "autodata"
        directives.append((name, kind))
    return directives


def api_page(module_names=API_MODULES):
    """Markdown of the API reference: each module's docstring, then autodoc of each of its public names."""
    import importlib

    lines = [
        "# API reference",
        "",
        "The public names of the engine and the analysis layer, documented from their docstrings.",
        "",
    ]
    for module_name in module_names:
        module = importlib.import_module(module_name)
        lines += [f"## `{module_name}`", "", "```{eval-rst}", f".. automodule:: {module_name}", ""]
        for name, kind in public_names(module):
            options = {"autoclass": ["   :members:"], "autodata": ["   :no-value:"]}.get(kind, [])
            lines += [f".. {kind}:: {module_name}.{name}", *options, ""]
        lines += ["```", ""]
    return "\n".join(lines)


NOTEBOOK_GLOB = ":glob:\n:maxdepth: 1\n\nnotebooks/*\n"


def plain_title(markdown):
    """A heading's text without TeX markup, for the navigation (MathJax does not typeset the sidebar):
    ``$(w^*, D^*_{orb})$`` becomes ``(w*, D*_orb)``."""
    return re.sub(r"[{}$\\]|\^", "", markdown).strip()


def notebook_entries(executed):
    """The notebooks' toctree entries with explicit plain-text titles (each notebook's first ``# `` heading)."""
    lines = [":maxdepth: 1", ""]
    for path in executed:
        cells = json.loads(path.read_text())["cells"]
        heading = next(
            (
                line[2:]
                for cell in cells
                if cell["cell_type"] == "markdown"
                for line in "".join(cell["source"]).splitlines()
                if line.startswith("# ")
            ),
            path.stem,
        )
        lines.append(f"{plain_title(heading)} <notebooks/{path.stem}>")
    return "\n".join(lines) + "\n"


def stage_sources(notebooks, figures, stage):
    """Fill ``stage`` with the site's sources; returns the names of the notebook pages."""
    executed = executed_notebooks(notebooks)
    claims_file = Path(figures) / "claims.json"
    if not claims_file.is_file():
        raise FileNotFoundError(f"figures: {claims_file} does not exist; run `make figures` or pass --figures FOLDER")
    if stage.exists():
        shutil.rmtree(stage)
    shutil.copytree(
        DOCS, stage, ignore=shutil.ignore_patterns("conf.py", "README.md", "favicon.svg", "_static", "__pycache__")
    )
    (stage / "notebooks").mkdir()
    for path in executed:
        notebook = with_contents(merge_parameters(json.loads(path.read_text())))
        (stage / "notebooks" / path.name).write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
    pages = {path.stem for path in executed}
    index = stage / "index.md"
    if NOTEBOOK_GLOB not in index.read_text():
        raise ValueError(f"docs/index.md: the notebooks' toctree must list `notebooks/*` as {NOTEBOOK_GLOB!r}")
    index.write_text(index.read_text().replace(NOTEBOOK_GLOB, notebook_entries(executed)))
    (stage / "gallery.md").write_text(gallery_page(figure_records(figures), stage, pages))
    (stage / "claims.md").write_text(claims_page(json.loads(claims_file.read_text()), pages))
    (stage / "api.md").write_text(api_page())
    return sorted(pages)


def build(notebooks, figures, out, stage=None):
    """Stage the sources and run ``sphinx-build -b html`` into ``out``; returns ``out``.

    Raises ``RuntimeError`` with Sphinx's output when the build fails.
    """
    out = Path(out)
    stage = Path(stage) if stage else build_root() / "site-src"
    stage_sources(notebooks, figures, stage)
    if out.exists():
        shutil.rmtree(out)
    command = [
        sys.executable,
        "-m",
        "sphinx",
        "-b",
        "html",
        "-q",
        "-E",
        "-W",
        "--keep-going",
        "-c",
        str(DOCS),
        "-d",
        str(stage / ".doctrees"),
        str(stage),
        str(out),
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"sphinx-build failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    if result.stderr.strip():
        print(result.stderr, file=sys.stderr)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--notebooks",
        type=Path,
        default=committed_figures_root() / "notebooks",
        help="folder of executed notebooks NN_name.ipynb (default: figures/notebooks)",
    )
    parser.add_argument(
        "--figures",
        type=Path,
        default=committed_figures_root(),
        help="results folder with claims.json and <notebook>/<figure>.png/.json (default: figures)",
    )
    parser.add_argument("--out", type=Path, default=build_root() / "site", help="output folder (default: build/site)")
    args = parser.parse_args(argv)
    try:
        out = build(args.notebooks, args.figures, args.out)
    except (FileNotFoundError, ValueError, RuntimeError) as error:
        print(f"make book: {error}", file=sys.stderr)
        return 1
    print(f"site built: {out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
