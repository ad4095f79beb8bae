"""Disk cache for expensive results, keyed by a hash of their parameters and of the package (version and source).

An entry is ``MAGIC``, the SHA-256 of the payload, a newline, then the payload: a pickle of the canonical key and
the value. Entries are written to a temporary file and renamed into place, so an interrupted run leaves either
the whole entry or none; an entry whose checksum, key or unpickling fails is reported and recomputed.
"""
import functools
import hashlib
import json
import os
import pickle
import tempfile
import warnings
from pathlib import Path

from companion import __version__
from companion.pipeline.paths import cache_root
from companion.pipeline.provenance import jsonable

MAGIC = b"companion-cache-v1\n"
DIGEST_LENGTH = 64


class CorruptEntry(Exception):
    """A cache file that cannot be trusted."""


@functools.lru_cache(maxsize=1)
def package_fingerprint():
    """SHA-256 of the companion's version and of the source of its modules: any code change invalidates the cache."""
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(Path(__file__).parents[1].rglob("*.py")):
        digest.update(str(path.relative_to(Path(__file__).parents[1])).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def canonical_key(key):
    """The key as canonical JSON text (sorted keys, no spaces), together with the package fingerprint."""
    if not isinstance(key, dict) or not key:
        raise ValueError(f"key: expected a non-empty dict of the parameters, got {key!r}")
    document = {"key": jsonable(key, "key"), "package": package_fingerprint()}
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


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


def store_entry(path, canonical, value):
    """Write one entry: header, checksum, pickle of ``{"key": canonical, "value": value}``."""
    payload = pickle.dumps({"key": canonical, "value": value}, protocol=pickle.HIGHEST_PROTOCOL)
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


def cached(key, compute, directory=None):
    """``compute()``'s result for ``key``, loaded from the cache in ``directory`` (default :func:`cache_root`)
    when present and intact, otherwise computed and stored."""
    if not callable(compute):
        raise ValueError(f"compute: expected a callable taking no arguments, got {compute!r}")
    canonical = canonical_key(key)
    directory = Path(directory) if directory is not None else cache_root()
    path = directory / f"{hashlib.sha256(canonical.encode()).hexdigest()}.pkl"
    if path.exists():
        try:
            return load_entry(path, canonical)
        except (CorruptEntry, OSError) as err:
            warnings.warn(f"cache entry {path} is unusable ({err}); recomputing it", RuntimeWarning, stacklevel=2)
    value = compute()
    store_entry(path, canonical, value)
    return value
