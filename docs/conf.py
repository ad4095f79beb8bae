"""Sphinx configuration of the companion's static site (``make book`` → ``build/site/``).

Why Sphinx + MyST-NB: the site is built from the executed notebooks in ``figures/notebooks/`` without running them
again (``nb_execution_mode = "off"``), and MyST-NB renders ``.ipynb`` files with their stored outputs (figures, tables,
streams) and the markdown cells' math. It is a Python tool that installs from PyPI into the same environment as the
package, so ``sphinx.ext.autodoc`` + ``napoleon`` render the API reference from the engine's own docstrings. Jupyter
Book 2 would do the notebook part, but it is a Node application (mystmd), a second toolchain for the same result.

``companion.pipeline.site`` stages the sources (this folder's pages, the executed notebooks, and the gallery, claims
and API pages it generates from ``figures/``) in a folder of its own and runs ``sphinx-build -c docs`` on it. MathJax
is served from the site itself (``jupyter-server-mathjax``'s copy), so the pages render their math offline.

Binder launch buttons appear only when ``git remote get-url origin`` is a GitHub URL; otherwise the front page says
how to launch the notebooks locally (``repo2docker .``), and no link points at a placeholder.
"""

import re
import subprocess
from pathlib import Path

import jupyter_server_mathjax

import companion

ROOT = Path(__file__).resolve().parents[1]
GITHUB = re.compile(r"github\.com[:/](?P<owner>[^/]+)/(?P<repo>[^/]+?)(?:\.git)?/?$")


def git(*args):
    """Output of ``git args`` in the repository, or ``None`` when git fails (no repository, no such remote)."""
    result = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else None


def github_repository(remote):
    """``https://github.com/OWNER/REPO`` for a GitHub remote URL (https or ssh form), else ``None``."""
    match = GITHUB.search(remote or "")
    return match and f"https://github.com/{match['owner']}/{match['repo']}"


project = "μP mean-field companion"
author = "the companion's authors"
release = version = companion.__version__
copyright = "the companion's authors (MIT licence)"

extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.mathjax"]
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
nb_execution_mode = "off"
myst_enable_extensions = ["dollarmath", "amsmath", "substitution"]
suppress_warnings = ["mystnb.unknown_mime_type"]
# The notebooks' Markdown outputs (``nb.say``: prose with the run's numbers) are parsed as MyST, so `$…$` is math.
nb_render_markdown_format = "myst"

autodoc_default_options = {"members": False}
autodoc_typehints = "description"
napoleon_google_docstring = True
napoleon_numpy_docstring = True

# MathJax 2.7 from the site's own _static (copied from the jupyter-server-mathjax wheel), not from a CDN. It renders
# to MathML, which the browsers draw natively (its HTML-CSS output probes fonts with an about:blank URL, which the
# browsers now report as a console error).
html_static_path = [str(Path(jupyter_server_mathjax.__file__).parent / "static"), str(ROOT / "docs" / "_static")]
html_css_files = ["companion.css"]
mathjax_path = "MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"
# MyST marks its pages' sections tex2jax_ignore (so that a stray `$` is not math) and its math elements with the
# classes below; myst_update_mathjax would write this as a MathJax 3/4 configuration, which MathJax 2 does not read.
myst_update_mathjax = False
mathjax2_config = {
    "tex2jax": {
        "inlineMath": [["\\(", "\\)"]],
        "displayMath": [["\\[", "\\]"]],
        "processRefs": False,
        "processEnvironments": False,
        "ignoreClass": "tex2jax_ignore|mathjax_ignore",
        "processClass": "tex2jax_process|mathjax_process|math|output_area",
    },
    "menuSettings": {"renderer": "NativeMML"},
    "HTML-CSS": {"availableFonts": ["STIX-Web"], "preferredFont": "STIX-Web", "webFont": "STIX-Web", "imageFont": None},
}

html_theme = "sphinx_book_theme"
html_title = project
html_favicon = "favicon.svg"
# The theme logs a console error when no colour mode is set; the figures are made for a light background.
html_context = {"default_mode": "light"}
repository_url = github_repository(git("remote", "get-url", "origin"))
html_theme_options = {"show_toc_level": 2}
if repository_url:
    html_theme_options |= {
        "repository_url": repository_url,
        "repository_branch": git("rev-parse", "--abbrev-ref", "HEAD") or "main",
        # Staged notebooks/NN_name.ipynb are the repository's figures/notebooks/NN_name.ipynb.
        "path_to_docs": "figures",
        "use_repository_button": True,
        "launch_buttons": {"binderhub_url": "https://mybinder.org", "notebook_interface": "jupyterlab"},
    }
    launch = (
        f"Each notebook page has a Binder launch button (rocket icon) that opens it in JupyterLab from "
        f"[{repository_url}]({repository_url})."
    )
else:
    launch = (
        "This copy has no GitHub `origin` remote, so the pages carry no Binder button. To run the notebooks, "
        "use `repo2docker .` in a clone (the same image Binder builds), or `make setup` then `make lab`."
    )
myst_substitutions = {"launch": launch}


def escape_bars(app, what, name, obj, options, lines):
    """The docstrings write norms and sizes as ``|w|``; reST would read them as substitutions, so escape the bars."""
    lines[:] = [line.replace("|", "\\|") for line in lines]


def setup(app):
    app.connect("autodoc-process-docstring", escape_bars)
