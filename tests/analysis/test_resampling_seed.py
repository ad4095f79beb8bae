"""Resampling seeds: a bootstrap takes a named Stream of the seed tree (or an integer), and a Stream's resamples are
those of its SeedSequence, so two named streams never share resampling indices."""

import numpy as np
import pytest

from companion.analysis.calibration import studentized_max_test
from companion.analysis.statistics import bootstrap, bootstrap_draws
from companion.engine.seeding import Stream


def sample():
    return np.random.default_rng(7).lognormal(size=(24, 3))


def test_a_stream_resamples_as_its_seed_sequence():
    stream = Stream(3, "bootstrap: slope")
    by_stream = bootstrap_draws(sample(), lambda v: v.mean(0), n_boot=50, seed=stream)[1]
    by_sequence = bootstrap_draws(sample(), lambda v: v.mean(0), n_boot=50, seed=stream.sequence())[1]
    np.testing.assert_array_equal(by_stream, by_sequence)


def test_streams_of_other_names_or_seeds_resample_differently():
    draws = [
        bootstrap_draws(sample(), lambda v: v.mean(0), n_boot=50, seed=s)[1]
        for s in (Stream(3, "bootstrap: a"), Stream(3, "bootstrap: b"), Stream(4, "bootstrap: a"))
    ]
    assert not np.array_equal(draws[0], draws[1]) and not np.array_equal(draws[0], draws[2])


def test_nested_resampling_functions_pass_the_stream_on():
    stream = Stream(0, "bootstrap: nested")
    assert bootstrap(sample(), lambda v: v.mean(0), n_boot=50, seed=stream)[0].shape == (3,)
    assert studentized_max_test(sample(), np.array(1.0), n_boot=50, seed=stream)["critical"] > 0


@pytest.mark.parametrize("bad", [-1, 2**32, 1.5, "0", None, True])
def test_a_bad_seed_is_refused_naming_it(bad):
    with pytest.raises((TypeError, ValueError), match="^seed"):
        bootstrap_draws(sample(), lambda v: v.mean(0), n_boot=5, seed=bad)
