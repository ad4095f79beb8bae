"""Named streams from one SeedSequence (seed, stream, replica): no two triples share numbers, a batch replica equals
the lone run of that replica, and a notebook refuses a stream name registered twice."""

import hashlib

import numpy as np
import pytest
import torch

from companion.engine import init_particles, simulate
from companion.engine.seeding import Stream, seed_sequence, stream_id


def _draws(sequence, n=64):
    return set(sequence.generate_state(n, dtype=np.uint64).tolist())


def test_two_seeds_share_no_replica_stream():
    """seed s and s + 1 (the old seed + r scheme shared R - 1 of R streams) have disjoint replica streams."""
    R = 16
    first = set().union(*(_draws(seed_sequence(1, "noise", r)) for r in range(R)))
    second = set().union(*(_draws(seed_sequence(2, "noise", r)) for r in range(R)))
    assert not first & second
    noise = [Stream(seed, "simulate").generator(r).initial_seed() for seed in (1, 2) for r in range(R)]
    assert len(set(noise)) == 2 * R


def test_two_streams_of_one_seed_share_none():
    a = set().union(*(_draws(seed_sequence(0, "OU initial cloud", r)) for r in range(8)))
    b = set().union(*(_draws(seed_sequence(0, "chaos d=4 initial cloud", r)) for r in range(8)))
    assert not a & b


def test_stream_ids_are_stable_and_words_are_bounded():
    assert stream_id("simulate") == int.from_bytes(hashlib.sha256(b"simulate").digest()[:4], "big")
    assert stream_id("simulate") != stream_id("simulate ")
    with pytest.raises(ValueError, match="seed"):
        seed_sequence(2**32, "noise")
    with pytest.raises(TypeError, match="stream"):
        Stream(0, "")


def test_a_batch_replica_equals_the_lone_run():
    theta0 = init_particles("gaussian", 3, 6, 2, rng=Stream(4, "cloud"))
    stream = Stream(4, "noise")
    batch = simulate(theta0, "erf", None, eta=0.1, steps=12, tau=0.5, engine="none", seed=stream).final
    for r in range(3):
        lone = simulate(
            theta0[r : r + 1], "erf", None, eta=0.1, steps=12, tau=0.5, engine="none", seed=stream, first_replica=r
        ).final
        assert torch.equal(batch[r : r + 1], lone)
        cloud = init_particles("gaussian", 1, 6, 2, rng=Stream(4, "cloud").rng(r))
        assert torch.equal(theta0[r : r + 1], cloud)


def test_the_initial_cloud_is_nested_per_replica():
    big = init_particles("gaussian", 2, 10, 3, rng=Stream(0, "cloud"))
    assert torch.equal(init_particles("gaussian", 2, 4, 3, rng=Stream(0, "cloud")), big[:, :4])


def test_a_notebook_refuses_a_stream_registered_twice():
    from companion.pipeline import setup_notebook

    nb = setup_notebook("00_x", seed=7, device="cpu")
    cloud = nb.stream("cloud")
    assert cloud == Stream(7, "cloud") and nb.stream("noise") != cloud
    with pytest.raises(ValueError, match="already registered"):
        nb.stream("cloud")
