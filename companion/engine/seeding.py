r"""Named random streams: every random number comes from one ``numpy.random.SeedSequence`` with entropy
(seed, stream, replica).

A *stream* is a name ("noise", "OU initial cloud", ...). Its id is the first 32 bits (big-endian) of the SHA-256 of
the UTF-8 name, so it is stable across runs, machines and Python versions. The entropy of replica r of stream s under
seed k is the word sequence ``[k, stream_id(s), r]``, each word in [0, 2^32): a fixed-length encoding, so two
different (seed, stream, replica) triples never share a SeedSequence (seed 1 and seed 2 share no replica stream, as
seed + r offsets did). A purpose inside one replica (the noise and the minibatches of :func:`simulate`) is a child
``SeedSequence(entropy, spawn_key=(purpose,))``.

NumPy generators are ``default_rng(sequence)``; torch generators are seeded with the sequence's first 64-bit word.
"""

import hashlib
from dataclasses import dataclass

import numpy as np
import torch

from .validation import describe, integer

__all__ = ["WORD", "stream_id", "seed_sequence", "Stream", "streams"]

WORD = 2**32


def stream_id(name):
    """The stable 32-bit id of the stream ``name``: the first four bytes of SHA-256(name) as a big-endian integer."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"stream: need a non-empty name (str), got {describe(name)}")
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:4], "big")


def seed_sequence(seed, stream, replica=0, purpose=None):
    """``SeedSequence([seed, stream_id(stream), replica])`` (and ``spawn_key=(purpose,)`` for a sub-stream); seed,
    replica and purpose are integers in [0, 2^32)."""
    seed = integer("seed", seed, 0, WORD - 1)
    replica = integer("replica", replica, 0, WORD - 1)
    spawn_key = () if purpose is None else (integer("purpose", purpose, 0, WORD - 1),)
    return np.random.SeedSequence([seed, stream_id(stream), replica], spawn_key=spawn_key)


def torch_seed(sequence):
    """The 64-bit seed a torch generator takes from ``sequence``: its first generated uint64 word."""
    return int(sequence.generate_state(1, dtype=np.uint64)[0])


@dataclass(frozen=True)
class Stream:
    """The random stream ``name`` under ``seed``: replica r's numbers come from ``seed_sequence(seed, name, r)``.

    A frozen value with :meth:`cache_state`, so a pipeline task takes it as an argument and makes its generators
    inside; two tasks given the same Stream use the same numbers (common random numbers, on purpose)."""

    seed: int
    name: str

    def __post_init__(self):
        integer("seed", self.seed, 0, WORD - 1)
        stream_id(self.name)

    @property
    def id(self):
        return stream_id(self.name)

    def sequence(self, replica=0, purpose=None):
        """Replica ``replica``'s SeedSequence (``purpose``: a sub-stream of it)."""
        return seed_sequence(self.seed, self.name, replica, purpose)

    def rng(self, replica=0, purpose=None):
        """A NumPy Generator on replica ``replica`` of this stream."""
        return np.random.default_rng(self.sequence(replica, purpose))

    def generator(self, replica=0, purpose=None, device="cpu"):
        """A torch.Generator on ``device`` seeded from replica ``replica`` of this stream."""
        return torch.Generator(device=device).manual_seed(torch_seed(self.sequence(replica, purpose)))

    def cache_state(self):
        """The plain data that determine this stream (for cache keys)."""
        return {"seed": self.seed, "name": self.name}


def streams(seed, stream, replicas, purpose=None, first=0):
    """The SeedSequences of replicas ``first, ..., first + replicas - 1`` of ``stream`` under ``seed``."""
    return [seed_sequence(seed, stream, first + r, purpose) for r in range(replicas)]
