"""The static site (``make book``): its generated pages, and the built site checked in headless Chromium.

The browser test drives Debian's ``chromium`` through the DevTools protocol (``websocket-client``), over a local
HTTP server: every page loads without a console error, every image decodes, each notebook page shows its figures,
the math is typeset, and the claims page shows the counts of ``claims.json``. Screenshots of the front page and of a
notebook page go to ``build/screenshots/``.
"""

import contextlib
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from companion.pipeline import site

ROOT = Path(__file__).resolve().parents[2]
CHEAPEST = ROOT / "notebooks" / "05_learning_cell.py"


def test_claim_counts_add_up_per_notebook_and_in_total():
    records = [
        {"notebook": "b", "kind": "claim", "passed": True},
        {"notebook": "a", "kind": "check", "passed": False},
        {"notebook": "b", "kind": "claim", "passed": False},
        {"notebook": "b", "kind": "check", "passed": True},
    ]
    assert site.claim_counts({"claims": records}) == {"a": (0, 0, 0, 1), "b": (1, 1, 1, 0), "total": (1, 1, 1, 1)}
    assert site.claim_counts({"claims": []}) == {"total": (0, 0, 0, 0)}


def test_the_site_shows_the_parameters_once_with_the_values_the_run_used():
    def notebook(injected):
        return {
            "cells": [
                {
                    "cell_type": "code",
                    "metadata": {"tags": ["parameters"]},
                    "source": 'profile = "standard"\nseed = 0\ndevice = "auto"',
                },
                {
                    "cell_type": "code",
                    "metadata": {"tags": ["injected-parameters"]},
                    "source": ["# Parameters\n", injected],
                },
            ]
        }

    same = site.merge_parameters(notebook('profile = "standard"\n'))
    assert same["cells"][0]["source"] == 'profile = "standard"\nseed = 0\ndevice = "auto"'
    assert same["cells"][1]["metadata"]["tags"] == ["injected-parameters", "remove-cell"]
    other = site.merge_parameters(notebook('profile = "standard"\nseed = 3\nthreads = 2\n'))
    assert other["cells"][0]["source"] == (
        'profile = "standard"\nseed = 3  # injected by the run\ndevice = "auto"\nthreads = 2  # injected by the run'
    )
    untouched = {"cells": [{"cell_type": "code", "metadata": {}, "source": "x = 1"}]}
    assert site.merge_parameters(untouched) == {"cells": [{"cell_type": "code", "metadata": {}, "source": "x = 1"}]}


def test_a_notebook_page_lists_its_sections_under_its_title_and_drops_the_right_hand_column():
    notebook = {
        "metadata": {},
        "cells": [
            {"cell_type": "markdown", "source": "An Exception was encountered"},
            {"cell_type": "markdown", "source": ["# 01 — Title\n", "text"]},
            {"cell_type": "code", "source": "x = 1"},
        ],
    }
    site.with_contents(notebook)
    assert notebook["metadata"]["html_theme.sidebar_secondary.remove"] is True
    assert [cell["source"][:13] for cell in notebook["cells"]][2] == "```{contents}"
    assert ":local:" in notebook["cells"][2]["source"] and len(notebook["cells"]) == 4


def test_escape_makes_markdown_literal():
    assert site.escape("w* and D*_orb | $x$") == r"w\* and D\*\_orb \| \$x\$"


def test_missing_or_unexecuted_notebooks_fail_clearly(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="no executed notebook NN_name.ipynb"):
        site.executed_notebooks(tmp_path / "absent")
    (tmp_path / "05_x.source.ipynb").write_text("{}")
    with pytest.raises(FileNotFoundError, match="make figures"):
        site.executed_notebooks(tmp_path)
    (tmp_path / "05_x.ipynb").write_text(json.dumps({"cells": [{"cell_type": "code", "outputs": []}]}))
    with pytest.raises(ValueError, match="has no outputs"):
        site.executed_notebooks(tmp_path)
    assert site.main(["--notebooks", str(tmp_path / "absent"), "--out", str(tmp_path / "site")]) == 1
    assert "no executed notebook" in capsys.readouterr().err and not (tmp_path / "site").exists()


def test_api_page_documents_every_public_engine_name():
    import companion.engine

    page = site.api_page(["companion.engine"])
    for name in ("simulate", "Target", "gauss_hermite", "ACTIVATIONS"):
        assert f"companion.engine.{name}\n" in page and hasattr(companion.engine, name)
    assert ".. autoclass:: companion.engine.Target\n   :members:" in page


def site_configuration():
    """``docs/conf.py`` as a module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("site_conf", ROOT / "docs" / "conf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_binder_buttons_come_from_a_github_origin_only():
    repository = site_configuration().github_repository
    assert repository("https://github.com/owner/repo.git") == "https://github.com/owner/repo"
    assert repository("git@github.com:owner/repo.git") == "https://github.com/owner/repo"
    assert repository("https://github.com/owner/repo") == "https://github.com/owner/repo"
    assert repository("https://gitlab.com/owner/repo.git") is None and repository(None) is None


class DevTools:
    """A minimal client of one Chromium page over the DevTools protocol: commands, and the events seen so far."""

    def __init__(self, url):
        import websocket

        self.socket = websocket.create_connection(url, timeout=60, suppress_origin=True)
        self.last_id = 0
        self.events = []

    def call(self, method, **params):
        self.last_id += 1
        self.socket.send(json.dumps({"id": self.last_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.last_id:
                assert "error" not in message, f"{method}: {message['error']}"
                return message["result"]
            self.events.append(message)

    def wait_for(self, method):
        while not any(event["method"] == method for event in self.events):
            self.events.append(json.loads(self.socket.recv()))

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def open(self, url):
        """Load ``url``, wait for MathJax and the images; returns the console errors the page produced."""
        self.events = []
        self.call("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")
        self.evaluate("new Promise(done => window.MathJax && MathJax.Hub ? MathJax.Hub.Queue(() => done(1)) : done(0))")
        self.call("Runtime.evaluate", expression="0")  # drains the events queued while typesetting
        errors = [
            event["params"]["entry"]["text"] + " " + event["params"]["entry"].get("url", "")
            for event in self.events
            if event["method"] == "Log.entryAdded" and event["params"]["entry"]["level"] == "error"
        ]
        errors += [
            " ".join(str(arg.get("value", arg.get("description"))) for arg in event["params"]["args"])
            for event in self.events
            if event["method"] == "Runtime.consoleAPICalled" and event["params"]["type"] in ("error", "assert")
        ]
        errors += [
            event["params"]["exceptionDetails"]["text"]
            for event in self.events
            if event["method"] == "Runtime.exceptionThrown"
        ]
        return errors

    def images(self):
        """``[src, naturalWidth, in a notebook cell's output]`` of every image, once each has decoded or failed to."""
        return self.evaluate("""Promise.all(Array.from(document.images).map(image => {
            image.loading = 'eager';
            const output = image.closest('.cell_output') !== null;
            return image.decode().then(() => [image.src, image.naturalWidth, output], () => [image.src, 0, output]);
        }))""")

    def screenshot(self, path):
        path.parent.mkdir(parents=True, exist_ok=True)
        import base64

        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"]))


@contextlib.contextmanager
def served(folder):
    """``folder`` on a local HTTP server; yields its base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def chromium(profile):
    """A headless Chromium; yields a :class:`DevTools` client of its page."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    assert binary, "the site test needs Debian's chromium (apt-get install chromium; .ci/run installs it)"
    process = subprocess.Popen(
        [
            binary,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--remote-debugging-port=0",
            "--remote-allow-origins=*",
            f"--user-data-dir={profile}",
            "--window-size=1280,900",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            assert time.monotonic() < deadline and process.poll() is None, "chromium did not start"
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
        page = DevTools(next(target for target in targets if target["type"] == "page")["webSocketDebuggerUrl"])
        for domain in ("Page", "Runtime", "Log"):
            page.call(f"{domain}.enable")
        page.call("Emulation.setDeviceMetricsOverride", width=1280, height=900, deviceScaleFactor=1, mobile=False)
        yield page
    finally:
        process.terminate()
        process.wait(timeout=30)


def executed_inputs(tmp_path):
    """(executed notebooks, figures): ``$COMPANION_SITE_EXECUTED`` (a folder of executed notebooks, with the committed
    figures) if set, else the committed ones when present, else notebook 05 run with the quick profile."""
    if os.environ.get("COMPANION_SITE_EXECUTED"):
        return Path(os.environ["COMPANION_SITE_EXECUTED"]), ROOT / "figures"
    committed = ROOT / "figures" / "notebooks"
    if list(committed.glob("[0-9][0-9]_*.ipynb")):
        return committed, ROOT / "figures"
    figures, build = tmp_path / "figures", tmp_path / "build"
    command = [
        sys.executable,
        "-m",
        "companion.pipeline.runner",
        str(CHEAPEST),
        "--profile",
        "quick",
        "--figures",
        str(figures),
        "--build",
        str(build),
    ]
    # conftest sets MPLBACKEND=Agg for the tests: the runner gives the kernel the inline backend all the same.
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, env=environment)
    assert result.returncode == 0, f"{CHEAPEST.name} failed:\n{result.stdout}\n{result.stderr}"
    return build, figures


@pytest.mark.notebook
def test_site_builds_and_every_page_works_in_headless_chromium(tmp_path):
    notebooks, figures = executed_inputs(tmp_path)
    out = site.build(notebooks, figures, tmp_path / "site", stage=tmp_path / "site-src")
    pages = sorted(path.relative_to(out).as_posix() for path in out.rglob("*.html") if "_static" not in path.parts)
    names = [path.stem for path in site.executed_notebooks(notebooks)]
    assert {"index.html", "gallery.html", "claims.html", "api.html"} <= set(pages)
    assert {f"notebooks/{name}.html" for name in names} <= set(pages)
    binder = {name: "https://mybinder.org/v2/gh/" in (out / name).read_text() for name in pages}
    if site_configuration().repository_url:
        assert all(binder[f"notebooks/{name}.html"] for name in names), binder
    else:
        assert not any(binder.values()), f"Binder links without a GitHub origin: {binder}"
    saved = site.figure_records(figures)
    claims = json.loads((figures / "claims.json").read_text())

    typeset = {}
    with served(out) as base, chromium(tmp_path / "chromium") as page:
        for name in pages:
            errors = page.open(base + name)
            assert not errors, f"{name}: console errors {errors}"
            broken = [src for src, width, _ in page.images() if width == 0]
            assert not broken, f"{name}: images that did not load {broken}"
            math = page.evaluate(
                "[document.querySelectorAll('span.math, div.math').length,"
                " document.querySelectorAll('span.math .MathJax_MathML, div.math .MathJax_MathML').length,"
                " document.querySelectorAll('.MathJax_Error, .merror').length]"
            )
            assert math[1] >= math[0] and math[2] == 0, f"{name}: math not typeset {math}"
            if name == "api.html":
                assert math[0] > 0, "the API page should show the docstrings' math"
            typeset[name] = math[1]
            if name == "index.html":
                page.screenshot(ROOT / "build" / "screenshots" / "front.png")
        for notebook in names:
            page.open(f"{base}notebooks/{notebook}.html")
            shown = sum(width > 0 and output for _, width, output in page.images())
            assert shown >= len(saved.get(notebook, [])) > 0, f"{notebook}: {shown} figures shown"
        page.evaluate("document.querySelector('.cell_output img').scrollIntoView()")
        page.screenshot(ROOT / "build" / "screenshots" / "notebook.png")

        page.open(base + "claims.html")
        page.screenshot(ROOT / "build" / "screenshots" / "claims.png")
        # The claims tables fit the page at 1280 px (and at 1400 px below): no table wider than its column, the
        # verdict column first and on screen.
        for width in (1280, 1400):
            page.call("Emulation.setDeviceMetricsOverride", width=width, height=900, deviceScaleFactor=1, mobile=False)
            fits = page.evaluate(
                "Array.from(document.querySelectorAll('table.companion-table')).map(table => ["
                "table.id, table.scrollWidth <= table.parentElement.clientWidth + 1,"
                " table.getBoundingClientRect().right <= window.innerWidth,"
                " table.querySelector('th').textContent.trim()])"
            )
            assert fits and all(fit[1] and fit[2] for fit in fits), f"claims tables overflow at {width} px: {fits}"
            assert [fit[3] for fit in fits if fit[0] != "claims-summary"] == ["result"] * (len(fits) - 1)
        page.call("Emulation.setDeviceMetricsOverride", width=1280, height=900, deviceScaleFactor=1, mobile=False)
        rows = page.evaluate(
            "Array.from(document.querySelectorAll('table#claims-summary tbody tr'))"
            ".map(row => Array.from(row.cells).map(cell => cell.textContent.trim()))"
        )
        page.open(base + "gallery.html")
        page.images()
        gallery = page.evaluate(
            "Array.from(document.querySelectorAll('figure img')).filter(image => image.naturalWidth > 0).length"
        )
    shown = {row[0]: tuple(map(int, row[1:])) for row in rows}
    expected = {}
    for record in claims["claims"]:
        tally = list(expected.get(record["notebook"], (0, 0, 0, 0)))
        tally[2 * (record.get("kind", "claim") == "check") + (not record["passed"])] += 1
        expected[record["notebook"]] = tuple(tally)
    assert shown.pop("total") == tuple(sum(column) for column in zip(*expected.values()))
    assert shown == expected
    assert gallery == sum(map(len, saved.values()))
    # Every notebook page whose markdown (cells, or nb.say outputs) writes math shows it typeset.
    for notebook in names:
        formulas = math_in(notebooks / f"{notebook}.ipynb")
        assert (typeset[f"notebooks/{notebook}.html"] > 0) == (formulas > 0), (notebook, formulas, typeset)
    claims_math = sum(
        len(INLINE_MATH.findall(record["claim"] + (record.get("prediction") or ""))) for record in claims["claims"]
    )
    assert typeset["claims.html"] >= claims_math, ("claims page", claims_math, typeset["claims.html"])
    print("formulas typeset per page:", json.dumps(typeset))


INLINE_MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+\$", re.DOTALL)


def math_in(path):
    """How many ``$…$``/``$$…$$`` formulas the markdown cells and Markdown outputs of the notebook at ``path`` hold."""
    texts = []
    for cell in json.loads(Path(path).read_text())["cells"]:
        if cell["cell_type"] == "markdown":
            texts.append("".join(cell["source"]))
        for output in cell.get("outputs", []):
            texts.append("".join(output.get("data", {}).get("text/markdown", "")))
    return sum(len(INLINE_MATH.findall(text)) for text in texts)
