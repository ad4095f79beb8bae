"""Disk cache for expensive results, stored as data: one file per key, a record of the keys each run used, its size.

Keys are canonical JSON text; the file name is its SHA-256. :mod:`companion.pipeline.tasks` derives the key of a
task from the function, its arguments and everything it can reach; :func:`cached` keys a hand-written dict together
with :func:`package_fingerprint` (engine and analysis source, numerical versions).

**An entry is data, never code** (threat model: a cache folder copied from elsewhere, shared or shipped, may have
been crafted; loading it must not run anything and a wrong entry must not pass silently). An entry ``<sha>.npz``
is an uncompressed zip (readable by ``numpy.load(..., allow_pickle=False)``) with members ``key.json`` (the
canonical key), ``value.json`` (the structure of the value: :func:`encode`) and ``a<i>.npy`` (its arrays and tensors,
numeric dtypes only). :func:`load_entry` compares ``key.json`` with the requested key before it decodes anything,
reads arrays with ``allow_pickle=False``, refuses compressed or unexpected members, and rebuilds only the types of
:func:`encode`; dataclasses only when the recorded class is a dataclass of ``companion.engine``/``companion.analysis``
(imported from the installed package, never from the entry). Nothing is unpickled: an old ``.pkl`` entry is never
read and counts as stale. What an entry cannot do is be wrong without notice once recomputed:
``make cache-verify`` (:func:`verify_main`) reruns notebooks with part or all of their cache hits recomputed and
reports every entry whose stored value differs from the recomputed one.

Entries are written to a temporary file and renamed into place, so an interrupted run leaves either the whole entry
or none; an entry whose zip, key or structure does not check out is reported (RuntimeWarning) and recomputed.

Eviction: each notebook run records the entry names it used in ``<notebook folder>/.manifests/<run>.json`` (one
file per profile, seed, device and dtype, replaced by the next complete run of that configuration; a run in progress
writes ``<run>.running.json``). An entry that no manifest names, or whose notebook no longer exists, is stale:
``python -m companion.pipeline.cache clean-stale`` (``make clean-cache-stale``) removes those, and ``info``
(``make cache-info``) reports the size.
"""

import argparse
import dataclasses
import hashlib
import importlib
import io
import json
import os
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import torch

from companion.pipeline import fingerprint
from companion.pipeline.paths import NOTEBOOKS_DIR, cache_root
from companion.pipeline.provenance import jsonable

ENTRY_SUFFIX = ".npz"
LEGACY_SUFFIXES = (".pkl",)
FORMAT = "companion-cache-v2"
MANIFESTS = ".manifests"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed member times: equal values give equal files


class CorruptEntry(Exception):
    """A cache file that cannot be trusted (damaged, crafted, or for another key)."""


def package_fingerprint():
    """SHA-256 of the source of every engine and analysis module and of the numerical versions
    (:mod:`companion.pipeline.fingerprint`): editing the pipeline, a notebook or the README changes nothing."""
    document = {
        "modules": fingerprint.source_digests(fingerprint.layer_modules()),
        "environment": fingerprint.environment(),
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def canonical_key(key):
    """The key as canonical JSON text (sorted keys, no spaces), together with the package fingerprint."""
    if not isinstance(key, dict) or not key:
        raise ValueError(f"key: expected a non-empty dict of the parameters, got {key!r}")
    document = {"key": jsonable(key, "key"), "package": package_fingerprint()}
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def entry_path(directory, canonical):
    """The file of the entry for the canonical key text ``canonical`` in ``directory``."""
    return Path(directory) / f"{hashlib.sha256(canonical.encode()).hexdigest()}{ENTRY_SUFFIX}"


def atomic_write_bytes(path, data):
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``: readers see the
    old file or the new one, and a failed write (a full disk) leaves no partial file. A file that already holds
    ``data`` is left untouched."""
    path = Path(path)
    if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
        return  # the same bytes: leave the file (and its time stamp) as it is
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise OSError(err.errno, f"cannot write {path}: {err.strerror or err}") from None
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except OSError as err:
        Path(temporary).unlink(missing_ok=True)
        raise OSError(err.errno, f"cannot write {path}: {err.strerror or err}") from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# --- values as data ------------------------------------------------------------------------------------------


def _dataclass_allowed(cls):
    return dataclasses.is_dataclass(cls) and isinstance(cls, type) and fingerprint.in_layers(cls.__module__)


def _array_of_tensor(tensor):
    flat = tensor.detach().to("cpu").contiguous()
    try:
        return flat.numpy(), None
    except TypeError:  # bfloat16 and other dtypes without a NumPy twin: their bytes
        return flat.reshape(-1).view(torch.uint8).numpy(), list(flat.shape)


def encode(value, arrays, name="value"):
    """``value`` as JSON-able structure, its arrays appended to ``arrays`` (referenced by index).

    Types: None, bool, int, float (``repr``: exact, NaN and infinities included), str, list, tuple, dict (keys
    encoded too), NumPy arrays and scalars of numeric or bool dtype, dense torch tensors (dtype, device,
    ``requires_grad`` kept), torch dtypes and devices, pandas DataFrames and Series (columns encoded one by one),
    engine activations (by name: ``get_activation`` rebuilds them) and dataclasses of
    ``companion.engine``/``companion.analysis`` (field by field). Anything else is a TypeError naming
    where in ``value`` it sits: the cache stores data it can rebuild without running code.
    """
    import pandas as pd

    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.generic):
        if value.dtype.hasobject:
            raise TypeError(f"{name}: a NumPy object scalar has no data form")
        arrays.append(np.asarray(value))
        return {"numpy_scalar": len(arrays) - 1}
    if isinstance(value, int):
        return {"int": str(value)}
    if isinstance(value, float):
        return {"float": repr(value)}
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject or value.dtype.fields is not None:
            raise TypeError(f"{name}: a NumPy array of dtype {value.dtype} has no data form; use a numeric array")
        arrays.append(np.ascontiguousarray(value))
        return {"ndarray": len(arrays) - 1}
    if isinstance(value, torch.Tensor):
        if value.layout != torch.strided:
            raise TypeError(f"{name}: a {value.layout} tensor has no data form; store a dense tensor")
        array, shape = _array_of_tensor(value)
        arrays.append(array)
        return {
            "tensor": len(arrays) - 1,
            "dtype": str(value.dtype).removeprefix("torch."),
            "shape": shape,
            "device": str(value.device),
            "requires_grad": value.requires_grad,
        }
    if isinstance(value, torch.dtype):
        return {"torch_dtype": str(value).removeprefix("torch.")}
    if isinstance(value, torch.device):
        return {"torch_device": str(value)}
    if isinstance(value, list):
        return {"list": [encode(item, arrays, f"{name}[{i}]") for i, item in enumerate(value)]}
    if type(value) is tuple:
        return {"tuple": [encode(item, arrays, f"{name}[{i}]") for i, item in enumerate(value)]}
    if type(value) is dict:
        return {
            "dict": [
                [encode(key, arrays, f"{name} key"), encode(item, arrays, f"{name}[{key!r}]")]
                for key, item in value.items()
            ]
        }
    if isinstance(value, pd.DataFrame):
        return {
            "dataframe": {
                "columns": [encode(column, arrays, f"{name}.columns") for column in value.columns],
                "data": [_encode_series(value[column], arrays, f"{name}[{column!r}]") for column in value.columns],
                "index": _encode_index(value.index, arrays, f"{name}.index"),
            }
        }
    if isinstance(value, pd.Series):
        return {
            "series": {
                "name": encode(value.name, arrays, f"{name}.name"),
                "data": _encode_series(value, arrays, name),
                "index": _encode_index(value.index, arrays, f"{name}.index"),
            }
        }
    activation = _activation_name(value)
    if activation is not None:  # holds functions: stored by its name, rebuilt by get_activation
        return {"activation": activation}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        if not _dataclass_allowed(cls):
            raise TypeError(
                f"{name}: the dataclass {cls.__module__}.{cls.__qualname__} is not one of "
                "companion.engine/companion.analysis; return its fields as a dict"
            )
        return {
            "dataclass": f"{cls.__module__}:{cls.__qualname__}",
            "fields": {
                field.name: encode(getattr(value, field.name), arrays, f"{name}.{field.name}")
                for field in dataclasses.fields(cls)
            },
        }
    raise TypeError(
        f"{name}: a result of type {type(value).__module__}.{type(value).__qualname__} has no data form "
        "in the cache; return numbers, strings, lists, tuples, dicts, arrays, tensors, DataFrames or "
        "dataclasses of companion.engine/analysis"
    )


def _activation_name(value):
    """The name of ``value`` when it is an engine Activation (which ``get_activation(name)`` rebuilds), else None."""
    if type(value).__name__ != "Activation" or type(value).__module__ != "companion.engine.activations":
        return None
    from companion.engine.activations import get_activation

    name = value.cache_state()["name"]
    if get_activation(name) != value:
        raise TypeError(f"value: the activation {name!r} is not the one get_activation({name!r}) builds")
    return name


def _encode_series(series, arrays, name):
    if isinstance(series.dtype, np.dtype) and not series.dtype.hasobject:
        return encode(series.to_numpy(), arrays, name)
    return {"values": encode(series.tolist(), arrays, name), "dtype": str(series.dtype)}


def _encode_index(index, arrays, name):
    import pandas as pd

    if isinstance(index, pd.MultiIndex):
        raise TypeError(f"{name}: a MultiIndex has no data form; reset the index first")
    label = encode(index.name, arrays, f"{name}.name")
    if isinstance(index, pd.RangeIndex):
        return {"range": [index.start, index.stop, index.step], "name": label}
    return {"index": _encode_series(index.to_series(), arrays, name), "name": label}


def _expect(condition, what):
    if not condition:
        raise CorruptEntry(f"malformed value structure: {what}")


def decode(node, arrays):
    """The value whose structure :func:`encode` wrote as ``node``; ``arrays(i)`` gives the i-th array.
    CorruptEntry for anything :func:`encode` cannot have written."""
    import pandas as pd

    if node is None or isinstance(node, (bool, str)):
        return node
    _expect(isinstance(node, dict) and len(node) >= 1, f"{str(node)[:80]!r}")
    tag = next(iter(node))
    if tag == "int":
        return int(node["int"])
    if tag == "float":
        return float(node["float"])
    if tag == "numpy_scalar":
        return arrays(node[tag])[()]
    if tag == "ndarray":
        return arrays(node[tag])
    if tag == "tensor":
        array = arrays(node[tag])
        dtype = getattr(torch, node["dtype"], None)
        _expect(isinstance(dtype, torch.dtype), f"tensor dtype {node['dtype']!r}")
        tensor = torch.from_numpy(array.copy())
        if node.get("shape") is not None:
            tensor = tensor.view(dtype).reshape(node["shape"])
        _expect(tensor.dtype == dtype, f"tensor dtype {node['dtype']} stored as {tensor.dtype}")
        return tensor.to(node["device"]).requires_grad_(bool(node["requires_grad"]))
    if tag == "torch_dtype":
        dtype = getattr(torch, node[tag], None)
        _expect(isinstance(dtype, torch.dtype), f"torch dtype {node[tag]!r}")
        return dtype
    if tag == "torch_device":
        return torch.device(node[tag])
    if tag in ("list", "tuple"):
        _expect(isinstance(node[tag], list), tag)
        items = [decode(item, arrays) for item in node[tag]]
        return items if tag == "list" else tuple(items)
    if tag == "dict":
        _expect(isinstance(node[tag], list) and all(isinstance(p, list) and len(p) == 2 for p in node[tag]), "dict")
        return {decode(key, arrays): decode(item, arrays) for key, item in node[tag]}
    if tag == "activation":
        from companion.engine.activations import get_activation

        _expect(isinstance(node[tag], str), "activation name")
        try:
            return get_activation(node[tag])
        except ValueError as err:
            raise CorruptEntry(f"malformed value structure: activation {node[tag]!r} ({err})") from None
    if tag == "values":  # a column of a pandas dtype (strings, objects): its values, then its dtype by name
        import pandas as pd

        return pd.Series(decode(node[tag], arrays), dtype=str(node["dtype"]))
    if tag == "dataframe":
        body = node[tag]
        columns = [decode(column, arrays) for column in body["columns"]]
        data = [decode(column, arrays) for column in body["data"]]
        _expect(len(columns) == len(data), "dataframe columns")
        index = _decode_index(body["index"], arrays)
        frame = pd.DataFrame({i: _aligned(column, index) for i, column in enumerate(data)}, index=index)
        frame.columns = columns
        return frame
    if tag == "series":
        body = node[tag]
        index = _decode_index(body["index"], arrays)
        return pd.Series(_aligned(decode(body["data"], arrays), index), index=index, name=decode(body["name"], arrays))
    if tag == "dataclass":
        module, _, qualname = str(node[tag]).partition(":")
        _expect(fingerprint.in_layers(module), f"dataclass {node[tag]!r} outside companion.engine/analysis")
        cls = importlib.import_module(module)  # a module of the installed package, not of the entry
        for part in qualname.split("."):
            cls = getattr(cls, part, None)
        _expect(_dataclass_allowed(cls), f"{node[tag]!r} is not a dataclass of companion.engine/analysis")
        fields = node["fields"]
        _expect(
            isinstance(fields, dict) and set(fields) == {field.name for field in dataclasses.fields(cls)},
            f"fields of {node[tag]}",
        )
        value = cls.__new__(cls)
        for field_name, item in fields.items():
            object.__setattr__(value, field_name, decode(item, arrays))
        return value
    raise CorruptEntry(f"malformed value structure: unknown tag {tag!r}")


def _aligned(column, index):
    """A decoded column as values in the order of ``index`` (a Series carries its own index)."""
    import pandas as pd

    return column.to_numpy() if isinstance(column, pd.Series) and len(column) == len(index) else column


def _decode_index(node, arrays):
    import pandas as pd

    _expect(isinstance(node, dict) and ("range" in node or "index" in node), "index")
    label = decode(node.get("name"), arrays)
    if "range" in node:
        return pd.RangeIndex(*node["range"], name=label)
    values = decode(node["index"], arrays)
    return pd.Index(
        values.to_numpy() if isinstance(values, pd.Series) else values,
        dtype=values.dtype if isinstance(values, pd.Series) else None,
        name=label,
    )


# --- entries -------------------------------------------------------------------------------------------------


def _member(archive, name, data):
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


def dumps(canonical, value):
    """The bytes of the entry for key text ``canonical`` and ``value`` (equal values give equal bytes)."""
    arrays = []
    structure = encode(value, arrays)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        _member(archive, "key.json", canonical.encode())
        _member(
            archive,
            "value.json",
            json.dumps({"format": FORMAT, "value": structure}, separators=(",", ":"), allow_nan=False).encode(),
        )
        for index, array in enumerate(arrays):
            npy = io.BytesIO()
            np.lib.format.write_array(npy, array, allow_pickle=False)
            _member(archive, f"a{index}.npy", npy.getvalue())
    return buffer.getvalue()


def store_entry(path, canonical, value):
    """Write one entry (:func:`dumps`) atomically; TypeError when ``value`` has no data form."""
    atomic_write_bytes(path, dumps(canonical, value))


def load_entry(path, canonical):
    """The value stored at ``path`` for ``canonical``; CorruptEntry if anything does not check out.

    The key is compared before the value is read; arrays are read with ``allow_pickle=False``."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = {info.filename: info for info in archive.infolist()}
            if "key.json" not in infos or "value.json" not in infos:
                raise CorruptEntry("not a cache entry (no key.json/value.json)")
            unexpected = sorted(
                name
                for name in infos
                if name not in ("key.json", "value.json")
                and not (name.startswith("a") and name.endswith(".npy") and name[1:-4].isdigit())
            )
            if unexpected or any(info.compress_type != zipfile.ZIP_STORED for info in infos.values()):
                raise CorruptEntry(f"unexpected or compressed members {unexpected or sorted(infos)}")
            if archive.read("key.json").decode() != canonical:
                raise CorruptEntry("stored key differs from the requested key")
            document = json.loads(archive.read("value.json"))
            if not isinstance(document, dict) or document.get("format") != FORMAT:
                raise CorruptEntry(f"not a {FORMAT} entry")

            def array(index):
                _expect(isinstance(index, int) and f"a{index}.npy" in infos, f"array reference {index!r}")
                with archive.open(f"a{index}.npy") as member:
                    return np.lib.format.read_array(member, allow_pickle=False)

            return decode(document["value"], array)
    except CorruptEntry:
        raise
    except (zipfile.BadZipFile, ValueError, KeyError, TypeError, UnicodeDecodeError, EOFError) as err:
        raise CorruptEntry(f"{type(err).__name__}: {err}") from None


def lookup(path, canonical):
    """``(True, value)`` when ``path`` holds an intact entry for ``canonical``, else ``(False, None)`` (a damaged
    or crafted entry is reported with a RuntimeWarning, and will be overwritten by the recomputed value)."""
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


# --- verification: recompute cached results and compare --------------------------------------------------------

VERIFY_VARIABLE, VERIFY_REPORT_VARIABLE = "COMPANION_CACHE_VERIFY", "COMPANION_CACHE_VERIFY_REPORT"


def verification_sample(found, environ=None):
    """The keys of ``found`` (cache hits of one sweep, ``{canonical: value}``) to recompute: none unless
    ``$COMPANION_CACHE_VERIFY`` is ``all`` (every hit) or a positive integer k (k hits of the sweep, picked by the
    SHA-256 of their keys, so a rerun checks the same ones)."""
    setting = (os.environ if environ is None else environ).get(VERIFY_VARIABLE, "")
    if not setting:
        return []
    if setting == "all":
        return list(found)
    if not setting.isdigit() or int(setting) < 1:
        raise ValueError(f"{VERIFY_VARIABLE}: expected 'all' or a positive integer, got {setting!r}")
    return sorted(found, key=lambda canonical: hashlib.sha256(canonical.encode()).hexdigest())[: int(setting)]


def _leaves(node, arrays, path="value"):
    """``(path, leaf)`` of an encoded value: scalars and arrays, in order."""
    if isinstance(node, dict):
        tag = next(iter(node), None)
        if tag in ("ndarray", "numpy_scalar", "tensor"):
            yield path, arrays[node[tag]]
            return
        for key, item in node.items():
            yield from _leaves(item, arrays, f"{path}.{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _leaves(item, arrays, f"{path}[{index}]")
    else:
        yield path, node


def value_difference(stored, recomputed):
    """None when the two values are bit for bit the same data; else a short description of the first difference
    (the largest absolute difference of the first differing array, or what differs in the structure)."""
    trees = []
    for value in (stored, recomputed):
        arrays = []
        trees.append((encode(value, arrays), arrays))
    if dumps("", stored) == dumps("", recomputed):
        return None
    left, right = (list(_leaves(tree, arrays)) for tree, arrays in trees)
    if [path for path, _ in left] != [path for path, _ in right]:
        return "the structure differs"
    for (path, a), (_, b) in zip(left, right):
        if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
            if a.shape != b.shape or a.dtype != b.dtype:
                return f"{path}: shape/dtype {a.shape} {a.dtype} -> {b.shape} {b.dtype}"
            if a.tobytes() != b.tobytes():
                with np.errstate(all="ignore"):
                    delta = np.nanmax(np.abs(a.astype(float) - b.astype(float))) if a.size else 0.0
                return f"{path}: max |difference| {delta:.3g}"
        elif a != b and not (isinstance(a, dict) and a == b):
            return f"{path}: {str(a)[:40]} -> {str(b)[:40]}"
    return "the bytes differ"


def report_verification(task, path, stored, recomputed, log=print):
    """Compare a cached value with its recomputation; log and append to ``$COMPANION_CACHE_VERIFY_REPORT``
    (one JSON line per entry) what was found."""
    difference = value_difference(stored, recomputed)
    line = {"task": task, "entry": str(path), "same": difference is None, "difference": difference}
    if difference is not None:
        log(f"cache-verify: {task}: entry {path.name} DIFFERS from its recomputation ({difference}); replaced")
    report = os.environ.get(VERIFY_REPORT_VARIABLE)
    if report:
        Path(report).parent.mkdir(parents=True, exist_ok=True)
        with open(report, "a") as handle:
            handle.write(json.dumps(line) + "\n")
    return line


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
        files = sorted(path for suffix in (ENTRY_SUFFIX, *LEGACY_SUFFIXES) for path in folder.glob(f"*{suffix}"))
        reachable = _manifest_names(folder) if (Path(notebooks) / f"{folder.name}.py").is_file() else set()
        reachable = {name for name in reachable if name.endswith(ENTRY_SUFFIX)}  # legacy pickles: never read
        entries += files
        stale += [path for path in files if path.name not in reachable]
    return entries, stale


def size_line(root=None, notebooks=NOTEBOOKS_DIR):
    """One line: entries and bytes in the cache, and how many of them are stale."""
    root = Path(root) if root is not None else cache_root()
    entries, stale = survey(root, notebooks)
    megabytes = [sum(path.stat().st_size for path in paths) / 1e6 for paths in (entries, stale)]
    return (
        f"cache {root}: {len(entries)} entries, {megabytes[0]:.1f} MB; "
        f"{len(stale)} stale ({megabytes[1]:.1f} MB; `make clean-cache-stale` removes them)"
    )


def clean_stale(root=None, notebooks=NOTEBOOKS_DIR):
    """Remove the stale entries of :func:`survey`; returns their paths."""
    _, stale = survey(root, notebooks)
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def configurations(root=None, notebooks=NOTEBOOKS_DIR):
    """``[(notebook source, profile, seed, device)]`` of every complete run recorded in the manifests under
    ``root`` whose notebook still exists."""
    root = Path(root) if root is not None else cache_root()
    found = []
    for manifest in sorted(root.glob(f"*/{MANIFESTS}/*.json")) if root.is_dir() else []:
        source = Path(notebooks) / f"{manifest.parent.parent.name}.py"
        parts = manifest.stem.split("-")
        if (
            manifest.stem.endswith(".running")
            or len(parts) != 4
            or not parts[1].startswith("seed")
            or not source.is_file()
        ):
            continue
        found.append((source, parts[0], int(parts[1].removeprefix("seed")), parts[2]))
    return found


def verify_main(sample=None, root=None, notebooks=NOTEBOOKS_DIR, build=None, log=print):
    """Rerun every recorded configuration (:func:`configurations`) with its cache hits recomputed (all, or
    ``sample`` of each task sweep) into a scratch figures folder under ``build``; report the entries whose stored
    value differs from the recomputed one. Returns 0 when none differs, 1 otherwise (or when a run fails)."""
    import subprocess
    import sys

    from companion.pipeline.paths import build_root

    build = Path(build) if build is not None else build_root() / "cache-verify"
    report = build / "report.jsonl"
    report.unlink(missing_ok=True)
    status = 0
    runs = configurations(root, notebooks)
    if not runs:
        log("cache-verify: no recorded run to verify (run `make figures` first)")
    for source, profile, seed, device in runs:
        log(f"cache-verify: {source.stem} ({profile}, seed {seed}, {device})")
        command = [
            sys.executable,
            "-m",
            "companion.pipeline.runner",
            str(source),
            "--profile",
            profile,
            "--seed",
            str(seed),
            "--device",
            device,
            "--figures",
            str(build / "figures"),
            "--build",
            str(build),
        ]
        environment = {
            **os.environ,
            VERIFY_VARIABLE: str(sample) if sample else "all",
            VERIFY_REPORT_VARIABLE: str(report),
        }
        if root is not None:
            environment["COMPANION_CACHE"] = str(root)
        result = subprocess.run(command, env=environment, check=False)
        if result.returncode not in (0, 3):  # 3: claims failed, the run itself completed
            log(f"cache-verify: {source.stem} did not run to the end (status {result.returncode})")
            status = 1
    lines = [json.loads(line) for line in report.read_text().splitlines()] if report.is_file() else []
    differing = [line for line in lines if not line["same"]]
    for line in differing:
        log(f"DIFFERS: {line['task']}: {line['entry']}: {line['difference']}")
    log(
        f"cache-verify: {len(lines)} entries recomputed, {len(differing)} differ"
        + (" (replaced by their recomputed values)" if differing else "")
    )
    return 1 if differing else status


def main(argv=None):
    """Command line: ``info`` prints :func:`size_line`, ``clean-stale`` removes the stale entries first,
    ``verify [--sample K]`` runs :func:`verify_main`."""
    parser = argparse.ArgumentParser(description="The companion's result cache.")
    parser.add_argument("command", choices=("info", "clean-stale", "verify"))
    parser.add_argument(
        "--sample", type=int, help="verify: recompute K cached results of each task sweep (default: all of them)"
    )
    args = parser.parse_args(argv)
    if args.sample is not None and args.sample < 1:
        parser.error(f"--sample: expected a positive integer, got {args.sample}")
    if args.command == "verify":
        return verify_main(args.sample)
    if args.command == "clean-stale":
        print(f"removed {len(clean_stale())} stale entries")
    print(size_line())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
