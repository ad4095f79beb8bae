"""The notebooks' one entry point: profile, seeds, device, dtype, style, figures, cache and claims.

A notebook starts with ``nb = setup_notebook(name, profile, seed, device)``, sizes its experiments with
``nb.pick(quick=..., standard=..., paper=...)``, runs its expensive work as tasks with ``nb.map(fn, calls)`` /
``nb.run(fn, **kwargs)`` (:mod:`companion.pipeline.tasks`: derived cache keys, optional Dask scheduler from
``$COMPANION_SCHEDULER``), saves each figure with ``nb.save_figure``, records each claim (against a prediction) with ``nb.claim`` and
each implementation check with ``nb.check``, writes the numbers of its prose with ``nb.say(f"... {nb.glue(name, value,
fmt)} ...")`` (:mod:`companion.pipeline.prose`), and ends with ``nb.finish()``.
"""

import os
import random
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from companion.pipeline import cache, claims, prose, provenance, tasks
from companion.pipeline.paths import PROFILES, cache_root, notebook_figures_root
from companion.pipeline.style import apply_style

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _resolve_dtype(dtype, device):
    if dtype is None:
        return torch.float64 if device.type == "cpu" else torch.float32
    if isinstance(dtype, str) and dtype in DTYPES:
        return DTYPES[dtype]
    if dtype in DTYPES.values():
        return dtype
    raise ValueError(f"dtype: expected None, 'float32', 'float64' or a torch float dtype, got {dtype!r}")


def _resolve_scheduler(scheduler):
    scheduler = scheduler if scheduler is not None else os.environ.get("COMPANION_SCHEDULER") or None
    if scheduler is not None and (not isinstance(scheduler, str) or "://" not in scheduler):
        raise ValueError(
            f"scheduler: expected a Dask scheduler address such as 'tcp://host:8786' (or None / "
            f"$COMPANION_SCHEDULER unset: run in-process), got {scheduler!r}"
        )
    return scheduler


def setup_notebook(name, profile="standard", seed=0, device="auto", dtype=None, threads=None, scheduler=None):
    """Validate the parameters, seed Python, NumPy and torch, pick device and dtype, apply the style.

    ``name`` is the notebook's file stem (its figures go to ``figures/<name>/``). ``dtype`` None means float64 on
    CPU and float32 on CUDA. ``threads`` None means one intra-op thread on CPU: the particle systems are small, and
    several threads per kernel oversubscribe the cores when notebooks run in parallel (``make -j``, the tests).
    ``scheduler`` None means ``$COMPANION_SCHEDULER`` if set, else tasks run in this process. Returns the :class:`Notebook` that the rest of the notebook works through.
    """
    from companion.pipeline.device import resolve_device

    provenance.validate_stem(name, "name")
    if profile not in PROFILES:
        raise ValueError(f"profile: expected one of {PROFILES}, got {profile!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise ValueError(f"seed: expected an integer in [0, 2**32), got {seed!r}")
    seed = int(seed)
    scheduler = _resolve_scheduler(scheduler)
    resolved = resolve_device(device)
    chosen_dtype = _resolve_dtype(dtype, resolved)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if threads is not None or resolved.type == "cpu":
        torch.set_num_threads(1 if threads is None else int(threads))
    apply_style()
    nb = Notebook(name=name, profile=profile, seed=seed, device=resolved, dtype=chosen_dtype, scheduler=scheduler)
    print(
        f"{name}: profile={profile} seed={seed} device={resolved} dtype={str(chosen_dtype).removeprefix('torch.')}"
        + (f" scheduler={scheduler}" if scheduler else "")
    )
    return nb


class QuietRecord(dict):
    """The record that ``nb.claim``/``nb.check`` return (a dict: ``record["value"]`` for :meth:`Notebook.glue`); a cell
    that ends with the call shows the printed verdict line only, not the dict as an ``Out[]``."""

    def _ipython_display_(self):
        """Display nothing (the verdict line is printed)."""


@dataclass
class Notebook:
    """State of one notebook run; create it with :func:`setup_notebook`."""

    name: str
    profile: str
    seed: int
    device: torch.device
    dtype: torch.dtype
    scheduler: str = None
    started: float = field(default_factory=time.perf_counter)
    git: dict = field(default_factory=provenance.git_state)
    figures: list = field(default_factory=list)
    claims: list = field(default_factory=list)
    glued: dict = field(default_factory=dict)
    manifest: cache.RunManifest = None
    streams: dict = field(default_factory=dict)

    def __post_init__(self):
        run = f"{self.profile}-seed{self.seed}-{self.device.type}-{str(self.dtype).removeprefix('torch.')}"
        self.manifest = cache.RunManifest(self.cache_dir, run)

    @property
    def cache_dir(self):
        """This notebook's cache folder: ``<cache root>/<name>``."""
        return cache_root() / self.name

    @property
    def figures_dir(self):
        """Where this notebook's figures and claims go: ``<notebook figures root>/<name>``: the runner's staging
        folder, or ``build/figures/interactive/<name>`` in a run by hand (:func:`paths.notebook_figures_root`)."""
        return notebook_figures_root() / self.name

    def pick(self, *, quick, standard, paper):
        """The value given for the current profile."""
        return {"quick": quick, "standard": standard, "paper": paper}[self.profile]

    def stream(self, name):
        """Register the random stream ``name`` of this notebook and return it as a
        :class:`~companion.engine.seeding.Stream` (seed = the notebook's seed): replica r's numbers come from
        ``SeedSequence([seed, stream_id(name), r])``. A name registered twice is refused (two experiments would share
        their random numbers); numbers shared on purpose (common random numbers) share one Stream value."""
        from companion.engine.seeding import Stream

        if name in self.streams:
            raise ValueError(
                f"stream: {name!r} is already registered in {self.name}; give each experiment its own "
                f"stream, or reuse the Stream value where two experiments share numbers on purpose "
                f"(re-running a cell registers its streams again: restart the kernel)"
            )
        stream = Stream(self.seed, name)
        clash = [other for other, known in self.streams.items() if known.id == stream.id]
        if clash:
            raise ValueError(f"stream: {name!r} has the same 32-bit id as {clash[0]!r}; rename one of them")
        self.streams[name] = stream
        return stream

    def elapsed(self):
        """Seconds since :func:`setup_notebook`."""
        return time.perf_counter() - self.started

    def _provenance(self, stem, params):
        provenance.validate_stem(stem)
        if stem not in self.figures:
            self.figures.append(stem)
        return {
            "notebook": self.name,
            "profile": self.profile,
            "seed": self.seed,
            "parameters": provenance.jsonable(params or {}, "params"),
            "device": str(self.device),
            "dtype": str(self.dtype).removeprefix("torch."),
            "git_revision": self.git["revision"],
            "git_dirty": self.git["dirty"],
            "packages": provenance.package_versions(),
            "wall_time_s": round(self.elapsed(), 3),
            "order": self.figures.index(stem),
        }

    def save_figure(self, fig, stem, *, data, caption, params=None):
        """Save ``fig`` as PNG and PDF with its plotted ``data`` (CSV) and provenance (JSON) in :attr:`figures_dir`.

        ``params`` holds the figure's own parameters (sizes, rates, ...); the record adds the notebook, profile,
        seed, device, dtype, git revision, package versions and wall time. Returns the JSON path.
        """
        record = self._provenance(stem, params)
        return provenance.save_figure(fig, self.figures_dir, stem, data=data, caption=caption, record=record)

    def save_table(self, table, stem, *, caption, params=None, float_format="{:.4g}"):
        """Save the DataFrame ``table`` as CSV and Markdown (shown in figures/README.md) with its provenance."""
        record = self._provenance(stem, params)
        return provenance.save_table(
            table, self.figures_dir, stem, caption=caption, record=record, float_format=float_format
        )

    def save_animation(self, animation, stem, *, data, caption, params=None, fps=10, dpi=80):
        """Save a matplotlib ``animation`` as GIF (and MP4 where ffmpeg is installed), each under 3 MiB, with its
        data and provenance; returns the GIF embedded in an HTML ``<img>`` (:func:`provenance.inline_gif`) for the
        notebook to show: every viewer (JupyterLab, nbconvert, the site, the repository host) displays it."""
        record = self._provenance(stem, params)
        provenance.save_animation(
            animation, self.figures_dir, stem, data=data, caption=caption, record=record, fps=fps, dpi=dpi
        )
        return provenance.inline_gif(self.figures_dir / f"{stem}.gif", alt=caption)

    def map(self, fn, calls):
        """``[fn(**call) for call in calls]`` as cached tasks (:func:`companion.pipeline.tasks.run_tasks`): in this
        process, or on the Dask scheduler :attr:`scheduler`. ``fn`` is a module-level function of its keyword
        arguments; keys are derived from its source, what it reaches, the arguments, dtype, device and versions."""
        return tasks.run_tasks(
            fn,
            calls,
            directory=self.cache_dir,
            dtype=self.dtype,
            device=self.device,
            scheduler=self.scheduler,
            manifest=self.manifest,
        )

    def map_until(self, fn, calls, found):
        """:meth:`map` in chunks, stopped after the first chunk with a result for which ``found(result)`` holds: the
        results up to and including the first such one (all of them if none). Chunks of one task in this process
        (nothing to gain from more), of eight on a Dask scheduler. Every call is an independent task with its own
        stream, so the chunking decides how much is computed, never a value."""
        chunk = 1 if self.scheduler is None else 8
        results = []
        for start in range(0, len(calls), chunk):
            results += self.map(fn, calls[start : start + chunk])
            hits = [k for k, result in enumerate(results) if found(result)]
            if hits:
                return results[: hits[0] + 1]
        return results

    def run(self, fn, **kwargs):
        """``fn(**kwargs)`` as one cached task (see :meth:`map`)."""
        return self.map(fn, [kwargs])[0]

    def claim(self, claim, value, lo, hi, figure, *, prediction, smoke=None):
        """Record the claim that ``lo <= value <= hi`` (None: open bound) for ``figure``: a measurement against
        ``prediction`` (the predicted value and its source: a theorem, a closed form, an independent computation).
        A claim can fail; an implementation identity or sanity bound is a :meth:`check`.

        ``smoke`` = (lo, hi): the `quick` profile is a smoke run whose sizes cannot resolve a window derived from the
        measurement's uncertainty; given ``smoke``, quick records the same value as a check against this loose
        window instead ("quick smoke run, not a claim: ..."), and the other profiles make the claim.
        Recording the same text again replaces the earlier record (a re-run cell).
        """
        if smoke is not None and self.profile == "quick":
            if not isinstance(smoke, (tuple, list)) or len(smoke) != 2:
                raise ValueError(f"smoke: expected a (lo, hi) window for the quick profile, got {smoke!r}")
            return self._record(f"quick smoke run, not a claim: {claim}", value, *smoke, figure, "check", None)
        return self._record(claim, value, lo, hi, figure, "claim", prediction)

    def check(self, check, value, lo, hi, figure):
        """Record an implementation identity or sanity bound ``lo <= value <= hi`` for ``figure`` (counted apart
        from the claims, never as evidence)."""
        return self._record(check, value, lo, hi, figure, "check", None)

    def _record(self, text, value, lo, hi, figure, kind, prediction):
        provenance.validate_stem(figure, "figure")
        record = {
            **claims.check_claim(self.name, text, value, lo, hi, figure, kind, prediction),
            "profile": self.profile,
        }
        self.claims[:] = [old for old in self.claims if old["claim"] != record["claim"]] + [record]
        verdict = "pass" if record["passed"] else "FAIL"
        against = f"; predicted: {prediction}" if prediction else ""
        print(
            f"[{verdict}] {kind}: {record['claim']}: {claims.value_text(record)} (expected {claims.expected_range(record)}{against})"
        )
        return QuietRecord(record)

    def glue(self, name, value, fmt=".3g"):
        """Record ``value`` under ``name`` and return it formatted with ``fmt`` (a format spec such as ``".2f"``, or a
        callable such as :func:`companion.pipeline.prose.tex_scientific`), for a sentence of :meth:`say`.
        ``nb.finish`` stores the glued values in ``claims.json`` (key ``"glue"``), where the literal-number test
        finds them. Gluing a name again replaces its value (a re-run cell)."""
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"name: expected a non-empty name for the glued value, got {name!r}")
        self.glued[name] = prose.glue_record(value, fmt)
        return self.glued[name]["text"]

    def say(self, markdown):
        """Show ``markdown`` (math in ``$…$``) as a Markdown output: the prose that quotes this run's numbers, written
        with :meth:`glue` (``nb.say(f"... {nb.glue('kappa', kappa, '.2f')} ...")``). JupyterLab, ``nbconvert``, the
        site and the repository host all render it."""
        from IPython.display import Markdown, display

        if not isinstance(markdown, str) or not markdown.strip():
            raise ValueError(f"markdown: expected the text to show, got {markdown!r}")
        display(Markdown(markdown))

    def finish(self):
        """Write ``claims.json`` beside the figures, print how many claims and checks pass and fail (the failed ones
        listed, one line each) and return the claims as a DataFrame.

        A failed claim is a result, not a crash: ``finish`` never raises for it, so the executed notebook ends
        without an error output; the runner reads ``claims.json`` and sets its exit status (3 when some failed).
        Every claim must name a figure this run saved (ValueError otherwise: that is a bug in the notebook)."""
        unknown = sorted({record["figure"] for record in self.claims} - set(self.figures))
        if unknown:
            raise ValueError(f"figure: claims refer to figures this notebook did not save: {unknown}")
        claims.write_claims(self.figures_dir / "claims.json", self.claims, glue=self.glued)
        self.manifest.complete()
        for record in claims.failed_claims(self.claims):
            print(
                f"FAILED {claims.kind_of(record)}: {record['claim']}: {claims.value_text(record)} "
                f"(expected {claims.expected_range(record)})"
            )
        print(f"{self.name}: {claims.summary(self.claims)} ({self.elapsed():.1f} s)")
        return pd.DataFrame(claims.table_rows(self.claims), columns=claims.COLUMNS)
