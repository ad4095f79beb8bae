"""Disk cache for expensive results: one checksummed file per key, a record of the keys each run used, its size.

Keys are canonical JSON text; the file name is its SHA-256. :mod:`companion.pipeline.tasks` derives the key of a
task from the function, its arguments and everything it can reach; :func:`cached` keys a hand-written dict together
with :func:`package_fingerprint` (engine and analysis source, numerical versions). An entry is ``MAGIC``, the SHA-256 of the payload, a newline, then the payload: a pickle of the canonical key and
the value. Entries are written to a temporary file and renamed into place, so an interrupted run leaves either
the whole entry or none; an entry whose checksum, key or unpickling fails is reported and recomputed.

Eviction: each notebook run records the entry names it used in ``<notebook folder>/.manifests/<run>.json`` (one
file per profile, seed, device and dtype, replaced by the next complete run of that configuration; a run in progress
writes ``<run>.running.json``). An entry that no manifest names, or whose notebook no longer exists, is stale:
``python -m companion.pipeline.cache clean-stale`` (``make clean-cache-stale``) removes those, and ``info``
(``make cache-info``) reports the size.
"""
import argparse
import hashlib
import io
import json
import os
import pickle
import tempfile
import warnings
from pathlib import Path

import torch

from companion.pipeline import fingerprint
from companion.pipeline.paths import NOTEBOOKS_DIR, cache_root
from companion.pipeline.provenance import jsonable

MAGIC = b"companion-cache-v1\n"
DIGEST_LENGTH = 64
MANIFESTS = ".manifests"


class CorruptEntry(Exception):
    """A cache file that cannot be trusted."""


def package_fingerprint():
    """SHA-256 of the source of every engine and analysis module and of the numerical versions
    (:mod:`companion.pipeline.fingerprint`): editing the pipeline, a notebook or the README changes nothing."""
    document = {"modules": fingerprint.source_digests(fingerprint.layer_modules()),
                "environment": fingerprint.environment()}
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def canonical_key(key):
    """The key as canonical JSON text (sorted keys, no spaces), together with the package fingerprint."""
    if not isinstance(key, dict) or not key:
        raise ValueError(f"key: expected a non-empty dict of the parameters, got {key!r}")
    document = {"key": jsonable(key, "key"), "package": package_fingerprint()}
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def entry_path(directory, canonical):
    """The file of the entry for the canonical key text ``canonical`` in ``directory``."""
    return Path(directory) / f"{hashlib.sha256(canonical.encode()).hexdigest()}.pkl"


def atomic_write_bytes(path, data):
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _rebuild_tensor(raw, dtype, shape, device, requires_grad):
    """The tensor written by :class:`_CanonicalPickler`."""
    dtype = getattr(torch, dtype)
    flat = torch.frombuffer(bytearray(raw), dtype=dtype) if raw else torch.empty(0, dtype=dtype)
    return flat.reshape(shape).to(device).requires_grad_(requires_grad)


class _CanonicalPickler(pickle.Pickler):
    """Pickles a dense torch tensor by its bytes, dtype, shape and device, so that equal values give equal files
    (torch's own pickle names storages by memory address, and keeps the whole storage of a view)."""

    def reducer_override(self, obj):
        if type(obj) is not torch.Tensor or obj.layout != torch.strided:
            return NotImplemented
        flat = obj.detach().to("cpu").contiguous().reshape(-1)
        raw = flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b""
        return _rebuild_tensor, (raw, str(obj.dtype).removeprefix("torch."), tuple(obj.shape), str(obj.device),
                                 obj.requires_grad)


def dumps(value):
    """``value`` pickled with tensors in canonical form and, unless it is self-referential, without the memo
    (``Pickler.fast``: equal objects are written out each time, so the bytes do not depend on which of them were
    the same object, e.g. the repeated strings of a DataFrame that travelled from a Dask worker)."""
    for fast in (True, False):
        buffer = io.BytesIO()
        pickler = _CanonicalPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
        pickler.fast = fast
        try:
            pickler.dump(value)
        except ValueError:  # fast mode refuses recursive structures: pickle those with the memo
            if not fast:
                raise
            continue
        return buffer.getvalue()


def store_entry(path, canonical, value):
    """Write one entry: header, checksum, pickle (:func:`dumps`) of ``{"key": canonical, "value": value}``."""
    payload = dumps({"key": canonical, "value": value})
    checksum = hashlib.sha256(payload).hexdigest().encode()
    atomic_write_bytes(path, MAGIC + checksum + b"\n" + payload)


def load_entry(path, canonical):
    """The value stored at ``path`` for ``canonical``; CorruptEntry if anything does not check out."""
    blob = Path(path).read_bytes()
    header_end = len(MAGIC) + DIGEST_LENGTH + 1
    if not blob.startswith(MAGIC) or len(blob) < header_end or blob[header_end - 1 : header_end] != b"\n":
        raise CorruptEntry("bad header")
    checksum, payload = blob[len(MAGIC) : header_end - 1], blob[header_end:]
    if hashlib.sha256(payload).hexdigest().encode() != checksum:
        raise CorruptEntry("checksum mismatch")
    try:
        entry = pickle.loads(payload)
    except Exception as err:  # a payload that passed its checksum but no longer unpickles (moved class, etc.)
        raise CorruptEntry(f"cannot unpickle: {err}") from err
    if not isinstance(entry, dict) or entry.get("key") != canonical:
        raise CorruptEntry("stored key differs from the requested key")
    return entry["value"]


def lookup(path, canonical):
    """``(True, value)`` when ``path`` holds an intact entry for ``canonical``, else ``(False, None)`` (a damaged
    entry is reported with a RuntimeWarning, and will be overwritten by the recomputed value)."""
    if not path.exists():
        return False, None
    try:
        return True, load_entry(path, canonical)
    except (CorruptEntry, OSError) as err:
        warnings.warn(f"cache entry {path} is unusable ({err}); recomputing it", RuntimeWarning, stacklevel=3)
        return False, None


def cached(key, compute, directory=None):
    """``compute()``'s result for ``key``, loaded from the cache in ``directory`` (default :func:`cache_root`)
    when present and intact, otherwise computed and stored."""
    if not callable(compute):
        raise ValueError(f"compute: expected a callable taking no arguments, got {compute!r}")
    canonical = canonical_key(key)
    path = entry_path(directory if directory is not None else cache_root(), canonical)
    found, value = lookup(path, canonical)
    if not found:
        value = compute()
        store_entry(path, canonical, value)
    return value


class RunManifest:
    """The entries one notebook run uses, written to ``<directory>/.manifests/<run>.running.json`` as they are
    used and moved to ``<run>.json`` (replacing the previous complete run of that configuration) by :meth:`complete`."""

    def __init__(self, directory, run):
        self.folder = Path(directory) / MANIFESTS
        self.run = run
        self.names = []
        self.running_path.unlink(missing_ok=True)

    @property
    def running_path(self):
        return self.folder / f"{self.run}.running.json"

    def record(self, path):
        """Add the entry file ``path`` to the running manifest."""
        if path.name not in self.names:
            self.names.append(path.name)
            atomic_write_bytes(self.running_path, json.dumps(self.names, indent=0).encode())

    def complete(self):
        """Make this run's record the configuration's record."""
        atomic_write_bytes(self.folder / f"{self.run}.json", json.dumps(self.names, indent=0).encode())
        self.running_path.unlink(missing_ok=True)


def _manifest_names(folder):
    names = set()
    for manifest in (folder / MANIFESTS).glob("*.json"):
        try:
            names.update(json.loads(manifest.read_text()))
        except (OSError, ValueError):
            continue  # an unreadable manifest protects nothing; its entries count as stale
    return names


def survey(root=None, notebooks=NOTEBOOKS_DIR):
    """``(entries, stale)``: every entry file under ``root`` (default :func:`cache_root`) and those no current
    key reaches: not named by any manifest of their notebook folder, or in the folder of a notebook that
    ``notebooks`` no longer holds."""
    root = Path(root) if root is not None else cache_root()
    entries, stale = [], []
    for folder in sorted(path for path in root.iterdir() if path.is_dir()) if root.is_dir() else []:
        files = sorted(folder.glob("*.pkl"))
        reachable = _manifest_names(folder) if (Path(notebooks) / f"{folder.name}.py").is_file() else set()
        entries += files
        stale += [path for path in files if path.name not in reachable]
    return entries, stale


def size_line(root=None, notebooks=NOTEBOOKS_DIR):
    """One line: entries and bytes in the cache, and how many of them are stale."""
    root = Path(root) if root is not None else cache_root()
    entries, stale = survey(root, notebooks)
    megabytes = [sum(path.stat().st_size for path in paths) / 1e6 for paths in (entries, stale)]
    return (f"cache {root}: {len(entries)} entries, {megabytes[0]:.1f} MB; "
            f"{len(stale)} stale ({megabytes[1]:.1f} MB; `make clean-cache-stale` removes them)")


def clean_stale(root=None, notebooks=NOTEBOOKS_DIR):
    """Remove the stale entries of :func:`survey`; returns their paths."""
    _, stale = survey(root, notebooks)
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def main(argv=None):
    """Command line: ``info`` prints :func:`size_line`, ``clean-stale`` removes the stale entries first."""
    parser = argparse.ArgumentParser(description="The companion's result cache.")
    parser.add_argument("command", choices=("info", "clean-stale"))
    args = parser.parse_args(argv)
    if args.command == "clean-stale":
        print(f"removed {len(clean_stale())} stale entries")
    print(size_line())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
