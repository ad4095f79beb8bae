"""``python -m companion.pipeline.report``: merge the notebooks' claims, print the claims table, regenerate figures/README.md.

Reads ``<figures root>/<notebook>/claims.json`` and the figures' JSON records, writes ``<figures root>/claims.json``
and ``<figures root>/README.md`` (every figure with its caption, provenance and the claims it supports). When the
figures root is the committed one (``<repo>/figures``), or ``--readme`` names a file, it also regenerates the
marked blocks of that README: the launch line (a Binder badge when the ``origin`` remote is on GitHub, else how
to launch locally), the table of notebooks (title, a link to the executed notebook where one is published, and
measured run time per profile, labelled with cache state and concurrency, from ``runtimes.json``) and the claims
table. Every file is written atomically under the
figures root's lock. Exits with status 3 when a claim fails (as the runner does), 2 on a usage error.
"""

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jupytext

from companion.pipeline import claims
from companion.pipeline.cache import atomic_write_bytes
from companion.pipeline.paths import NOTEBOOKS_DIR, PROFILES, REPO_ROOT, committed_figures_root, figures_root
from companion.pipeline.provenance import figures_lock
from companion.pipeline.publish import EXECUTED_FOLDER, executed_path

CLAIMS_FAILED_STATUS = 3  # the runner's status for the same outcome
FIGURE_CLAIM_COLUMNS = ("kind", "claim", "prediction", "value", "expected", "result", "profile")
README_CLAIM_COLUMNS = ("notebook", "kind", "claim", "prediction", "value", "expected", "result")


def write_text(path, text):
    """Write ``text`` (UTF-8) to ``path`` atomically: readers see the old file or the new one, never a part."""
    atomic_write_bytes(path, text.encode())


def notebook_folders(root):
    """The per-notebook folders under ``root``, sorted (hidden folders and the executed notebooks' folder left out)."""
    return sorted(
        path
        for path in Path(root).iterdir()
        if path.is_dir() and not path.name.startswith(".") and path.name != EXECUTED_FOLDER
    )


def write_merged_claims(root):
    """Merge ``<root>/<notebook>/claims.json`` into ``<root>/claims.json``; return the merged records.

    Call it under :func:`figures_lock` of ``root``.
    """
    root = Path(root)
    records = claims.merge_claims(
        sorted(folder / "claims.json" for folder in notebook_folders(root) if (folder / "claims.json").is_file())
    )
    claims.write_claims(root / "claims.json", records)
    return records


def figure_records(folder):
    """The JSON records of the figures in ``folder``, in the order the notebook saved them."""
    records = [json.loads(path.read_text()) for path in folder.glob("*.json") if path.name != "claims.json"]
    return sorted(records, key=lambda record: (record.get("order", 0), record["stem"]))


def git_output(repo, *args):
    """``git -C repo args...``: ``(exit status, stdout)``; RuntimeError naming the problem when git cannot run."""
    try:
        result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)
    except OSError as err:
        raise RuntimeError(f"repo: cannot run git ({err}); checking figures against the code needs git") from err
    return result.returncode, result.stdout.strip()


def contains(repo, ancestor, revision):
    """Whether commit ``revision`` contains commit ``ancestor`` (equal, or a descendant); None when ``revision``
    is not a commit of ``repo``."""
    status, _ = git_output(repo, "merge-base", "--is-ancestor", ancestor, revision)
    return {0: True, 1: False}.get(status)


def stale_figures(root, repo=REPO_ROOT):
    """Why figures under ``root`` may not match the code of ``repo``'s HEAD: one line per such figure.

    A figure matches when the last commit that changed ``companion/`` or its notebook's source is contained in
    the revision that made it (recorded with a clean tree), or in one of its ``verified_unchanged_at`` revisions:
    later commits at which a rerun was checked to leave its numbers unchanged. Needs git and the full history
    (RuntimeError otherwise, never a silent pass).
    """
    status, shallow = git_output(repo, "rev-parse", "--is-shallow-repository")
    if status != 0:
        raise RuntimeError(f"repo: {repo} is not a git repository; checking figures against the code needs its history")
    if shallow == "true":
        raise RuntimeError(
            f"repo: {repo} is a shallow clone; `git fetch --unshallow` brings the history this check reads"
        )
    problems = []
    for folder in notebook_folders(root):
        for record in figure_records(folder):
            name = f"{folder.name}/{record['stem']}"
            _, last_change = git_output(
                repo, "log", "-1", "--format=%H", "--", "companion", f"notebooks/{record['notebook']}.py"
            )
            made = [record["git_revision"]] if record.get("git_revision") and record.get("git_dirty") is False else []
            checked = [*made, *record.get("verified_unchanged_at", [])]
            verdicts = [contains(repo, last_change, revision) for revision in checked]
            if not last_change:
                problems.append(f"{name}: no commit of {repo} changed companion/ or notebooks/{record['notebook']}.py")
            elif None in verdicts:
                problems.append(f"{name}: revision(s) {checked} are not all commits of this repository")
            elif not any(verdicts):
                how = (
                    "made from uncommitted changes"
                    if record.get("git_dirty") is not False
                    else f"made at {str(record.get('git_revision'))[:10]}"
                )
                problems.append(
                    f"{name}: {how}, older than {last_change[:10]}, the last commit that changed "
                    f"companion/ or notebooks/{record['notebook']}.py"
                )
    return problems


def provenance_line(record):
    """One line: profile, seed, device, dtype, git revision (and later revisions verified to leave the numbers
    unchanged), wall time."""
    revision = (record.get("git_revision") or "unknown")[:10]
    if record.get("git_dirty"):
        revision += " (uncommitted changes)"
    verified = "".join(f", verified unchanged at `{later[:10]}`" for later in record.get("verified_unchanged_at", []))
    return (
        f"profile `{record['profile']}`, seed {record['seed']}, {record['device']} {record['dtype']}, "
        f"revision `{revision}`{verified}, {record['wall_time_s']:.0f} s into the notebook"
    )


def figure_section(folder, record, figure_claims):
    """The Markdown section of one saved figure, table or animation (``record["kind"]``, default figure)."""
    stem, files = record["stem"], record["files"]
    link = {kind: f"{folder.name}/{name}" for kind, name in files.items()}
    kind = record.get("kind", "figure")
    if kind == "table":
        shown = (folder / files["md"]).read_text().rstrip()
        downloads = f"[data]({link['csv']}) · [Markdown]({link['md']}) · [metadata]({link['json']})"
    elif kind == "animation":
        shown = f"![{stem}]({link['gif']})"
        downloads = " · ".join(
            [
                f"[GIF]({link['gif']})",
                *([f"[MP4]({link['mp4']})"] if "mp4" in link else []),
                f"[data]({link['csv']})",
                f"[metadata]({link['json']})",
            ]
        )
    else:
        shown = f"![{stem}]({link['png']})"
        downloads = f"[PDF]({link['pdf']}) · [data]({link['csv']}) · [metadata]({link['json']})"
    lines = [
        f"### {folder.name} / {stem}",
        "",
        shown,
        "",
        record["caption"],
        "",
        f"{provenance_line(record)}. {downloads}",
        "",
    ]
    if figure_claims:
        lines += [claims.render_markdown(figure_claims, FIGURE_CLAIM_COLUMNS), ""]
    else:
        lines += ["No claim or check rests on this figure.", ""]
    return lines


def render_readme(root, records):
    """The text of figures/README.md for the figures under ``root`` and the merged claim ``records``."""
    failed = claims.failed_claims(records)
    lines = [
        "# Figures",
        "",
        "Generated by `python -m companion.pipeline.report` (the end of `make figures`); do not edit by hand.",
        f"{claims.summary(records)}; all of them in [claims.json](claims.json). A claim compares a measurement "
        "with a prediction (from theory or an independent computation) and can fail; a check is an implementation "
        "identity or sanity bound, counted apart and never as evidence.",
        "",
    ]
    if failed:
        lines += ["Failed claims and checks:", "", claims.render_markdown(failed, README_CLAIM_COLUMNS), ""]
    for folder in notebook_folders(root):
        lines += [f"## {folder.name}", ""]
        notebook_claims = [record for record in records if record["notebook"] == folder.name]
        for record in figure_records(folder):
            supported = [claim for claim in notebook_claims if claim["figure"] == record["stem"]]
            lines += figure_section(folder, record, supported)
    return "\n".join(lines).rstrip() + "\n"


def notebook_title(source):
    """The first Markdown heading of a notebook source, without the leading #."""
    for cell in jupytext.read(source).cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    raise ValueError(f"source: {source} has no Markdown heading")


def runtime_text(entry):
    """A run time with what it depends on: ``29 s (cpu, 2 CPUs, cold cache, serial)``; labels not recorded
    by older runs are said to be unknown."""
    if entry is None:
        return "not measured"
    if "cache" in entry and "jobs" in entry:
        jobs = entry["jobs"]
        labels = f"{entry['cache']} cache, " + (
            "serial" if jobs == 1 else f"make -j{'' if jobs == 'unlimited' else jobs}"
        )
    else:
        labels = "cache state and concurrency not recorded"
    return f"{entry['seconds']:.0f} s ({entry['device']}, {entry['cpus']} CPUs, {labels})"


def notebooks_table(sources, runtimes, executed=None):
    """Markdown table: each notebook (linked to its executed version where ``executed``, a mapping from stem to
    link, has one), its title and its last measured run time per profile."""
    executed = executed or {}
    lines = ["| notebook | what it shows | " + " | ".join(PROFILES) + " |", "|---|---|" + "---|" * len(PROFILES)]
    for source in sources:
        source = Path(source)
        times = " | ".join(runtime_text(runtimes.get(source.stem, {}).get(profile)) for profile in PROFILES)
        link = f"[`{source.name}`](notebooks/{source.name})"
        if source.stem in executed:
            link += f" · [executed]({executed[source.stem]})"
        lines.append(f"| {link} | {notebook_title(source)} | {times} |")
    return "\n".join(lines)


def executed_links(root, sources, readme):
    """``{stem: link relative to readme's folder}`` for each source whose executed notebook is published under
    the figures ``root``."""
    links = {}
    for source in sources:
        path = executed_path(root, Path(source).stem)
        if path.is_file():
            links[Path(source).stem] = Path(os.path.relpath(path.resolve(), Path(readme).resolve().parent)).as_posix()
    return links


GITHUB_REMOTE = re.compile(
    r"^(?:https://(?:[^@/]+@)?github\.com/|ssh://git@github\.com/|git@github\.com:)"
    r"([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+?)(?:\.git)?/?$"
)


def github_repository(url):
    """``"owner/name"`` when ``url`` is a GitHub remote (``https://github.com/owner/name[.git]``,
    ``git@github.com:owner/name[.git]`` or ``ssh://git@github.com/owner/name[.git]``), else None."""
    match = GITHUB_REMOTE.match(url.strip()) if isinstance(url, str) else None
    return f"{match.group(1)}/{match.group(2)}" if match else None


def origin_url(repo=REPO_ROOT):
    """The URL of ``repo``'s ``origin`` remote, or None when it has none (or git cannot tell)."""
    try:
        status, url = git_output(repo, "remote", "get-url", "origin")
    except RuntimeError:
        return None
    return url if status == 0 and url else None


def launch_text(url):
    """The README's launch line for the remote ``url``: a Binder badge and link to JupyterLab on the notebooks
    when it is a GitHub remote; otherwise (no remote, or another host) no link, and how to launch locally."""
    repository = github_repository(url)
    if repository is None:
        return (
            "No Binder link: this checkout has no GitHub `origin` remote to build from. Launch JupyterLab "
            "locally with `make lab` (on this checkout's `.venv`), or build the Binder image yourself with "
            "`repo2docker .` ([jupyter-repo2docker](https://repo2docker.readthedocs.io), needs Docker)."
        )
    launch = f"https://mybinder.org/v2/gh/{repository}/HEAD?urlpath=lab/tree/notebooks"
    return f"[![Binder](https://mybinder.org/badge_logo.svg)]({launch})"


def replace_block(text, name, body):
    """``text`` with the lines between ``<!-- BEGIN name -->`` and ``<!-- END name -->`` replaced by ``body``."""
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    if text.count(begin) != 1 or text.count(end) != 1 or text.index(begin) > text.index(end):
        raise ValueError(f"text: README needs exactly one '{begin}' ... '{end}' block")
    head, rest = text.split(begin)
    _, tail = rest.split(end)
    return f"{head}{begin}\n{body}\n{end}{tail}"


def update_readme(readme, records, runtimes, sources, root=None, remote=None):
    """Regenerate the launch, notebooks and claims blocks of ``readme`` (written atomically); the notebook table
    links the executed notebooks published under the figures ``root`` (none when None), the launch line follows
    the ``remote`` URL."""
    text = Path(readme).read_text()
    text = replace_block(text, "launch", launch_text(remote))
    executed = executed_links(root, sources, readme) if root is not None else {}
    text = replace_block(text, "notebooks", notebooks_table(sources, runtimes, executed))
    body = f"{claims.summary(records)}.\n\n" + claims.render_markdown(records, README_CLAIM_COLUMNS)
    write_text(readme, replace_block(text, "claims", body))


def build_report(root=None, readme=None, sources=None):
    """Under the lock of ``root`` (default the figures root): merge the claims into claims.json, write README.md,
    and regenerate the blocks of ``readme`` from ``sources`` (default the repository's notebooks) if given.
    Returns the merged records."""
    root = Path(root) if root is not None else figures_root()
    with figures_lock(root):
        records = write_merged_claims(root)
        write_text(root / "README.md", render_readme(root, records))
        if readme is not None:
            runtimes_path = root / "runtimes.json"
            runtimes = json.loads(runtimes_path.read_text()) if runtimes_path.is_file() else {}
            sources = sorted(NOTEBOOKS_DIR.glob("*.py")) if sources is None else sources
            update_readme(readme, records, runtimes, sources, root, origin_url())
    return records


def changes_text(paths, root):
    """What changed against the results installed under ``root`` before the runs whose lists of changes
    (``<build>/<stem>.changes.json``, :mod:`companion.pipeline.install`) are at ``paths``: one line per changed figure
    group and per claim whose value moved beyond tolerance or whose verdict flipped; "nothing changed" when none."""
    lines = []
    for path in paths:
        stem = Path(path).name.removesuffix(".changes.json")
        if not Path(path).is_file():
            lines.append(f"  {stem}: no list of changes (the run did not finish)")
            continue
        lines += [f"  {stem}: {line}" for line in json.loads(Path(path).read_text())]
    head = f"What changed against the results installed in {root} before this run:"
    return "\n".join([head, *lines]) if lines else f"{head} nothing changed."


def main(argv=None):
    """Print the claims table; status 3 if a claim fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--figures", type=Path, help="figures root (default $COMPANION_FIGURES or <repo>/figures)")
    parser.add_argument(
        "--readme",
        type=Path,
        help="README whose generated blocks to rewrite (default: <repo>/README.md when the figures "
        "root is <repo>/figures, else none)",
    )
    parser.add_argument("--notebooks", type=Path, help="folder of the notebook sources (default <repo>/notebooks)")
    parser.add_argument(
        "--changes",
        type=Path,
        nargs="*",
        default=None,
        help="the runs' <build>/<stem>.changes.json: print what changed against the results installed before them",
    )
    args = parser.parse_args(argv)
    root = args.figures if args.figures is not None else figures_root()
    readme = args.readme
    if readme is None and root.resolve() == committed_figures_root().resolve():
        readme = REPO_ROOT / "README.md"
    sources = sorted(args.notebooks.glob("*.py")) if args.notebooks is not None else None
    records = build_report(root, readme, sources)
    print(claims.render_text(records))
    if args.changes is not None:
        print(changes_text(args.changes, root))
    failed = claims.failed_claims(records)
    if failed:
        print(
            f"{len(failed)} claim(s) or check(s) FAILED; they are recorded in {root / 'claims.json'}", file=sys.stderr
        )
    return CLAIMS_FAILED_STATUS if failed else 0


if __name__ == "__main__":
    sys.exit(main())
