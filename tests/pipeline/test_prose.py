"""The glue mechanism and the literal-number rule of :mod:`companion.pipeline.prose`."""

import json

import pytest

from companion.pipeline import claims, prose


def checked(text):
    return [literal for literal, _, _ in prose.literals(text)]


def test_the_rule_checks_results_and_skips_small_integers_years_references_and_one_digit_constants():
    text = (
        "The slope is −0.48 (predicted 0.5) at N = 256 over 40 steps in 2024; section 3.2 and §4.1, eq. 12.5, "
        "an error of 1.3e-3 or $2.5 \\times 10^{-4}$, a rate of 1/2, 100 particles, "
        "[link](https://x.org/1.25) and `N = 1024`."
    )
    assert checked(text) == ["−0.48", "256", "1.3e-3", "2.5 \\times 10^{-4}", "1024"]
    assert checked("## 3.14 A numbered heading") == []


def test_a_literal_matches_a_value_at_its_printed_precision_only():
    ((_, value, half),) = prose.literals("kappa = 0.77")
    assert prose.matches(value, half, 0.7712) and prose.matches(value, half, -0.765)
    assert not prose.matches(value, half, 0.7751) and not prose.matches(value, half, 0.76)
    ((_, value, half),) = prose.literals("error 1.3e-3")
    assert prose.matches(value, half, 0.00134) and not prose.matches(value, half, 0.00136)


def test_stale_literals_name_the_cell_and_the_recorded_result():
    document = {
        "claims": [{"kind": "claim", "claim": "kappa in [2, 6]", "value": 0.7712}],
        "glue": {"n_max": {"value": 16384.0, "text": "16384"}},
    }
    cells = [
        ("markdown", "# Title\nWe find kappa = 0.77 at n = 16384, within [2, 6]."),
        ("code", "nb.say(f\"kappa = {nb.glue('kappa', kappa, '.2f')}, not 0.77\")"),
        ("code", 'print("0.77")'),
        ("raw", "0.77"),
    ]
    stale = prose.stale_literals(cells, prose.recorded_results(document))
    assert stale == [
        (0, "0.77", ["claim: kappa in [2, 6]"]),
        (0, "16384", ["glue: n_max"]),
        (1, "0.77", ["claim: kappa in [2, 6]"]),
    ]


def test_formatted_values_and_bad_input():
    assert prose.formatted(0.77123, ".2f") == "0.77" and prose.formatted(256, "d") == "256"
    assert prose.formatted(1.5e-4, prose.tex_scientific) == "1.5 \\times 10^{-4}"
    assert prose.tex_scientific(0.0123) == "0.012" and prose.tex_scientific(9.96e5) == "1.0 \\times 10^{6}"
    with pytest.raises(ValueError, match="value"):
        prose.formatted("0.7", ".2f")
    with pytest.raises(ValueError, match="fmt"):
        prose.formatted(2.5, "d")
    with pytest.raises(ValueError, match="fmt"):
        prose.formatted(2.5, ".2q")
    with pytest.raises(ValueError, match="finite"):
        prose.glue_record(float("nan"))


def test_notebook_glue_and_say_reach_claims_json(tmp_path, monkeypatch, capsys):
    from companion.pipeline.notebook import setup_notebook

    monkeypatch.setenv("COMPANION_FIGURES", str(tmp_path))
    monkeypatch.setenv("COMPANION_CACHE", str(tmp_path / "cache"))
    nb = setup_notebook("99_glue", profile="quick")
    assert nb.glue("kappa", 0.77123, ".2f") == "0.77"
    assert nb.glue("kappa", 0.8, ".2f") == "0.80"
    nb.say(f"$\\kappa$ = {nb.glue('n', 16384, 'd')}")
    assert "Markdown" in capsys.readouterr().out  # outside a kernel, display prints the object's repr
    with pytest.raises(ValueError, match="name"):
        nb.glue("", 1.0)
    with pytest.raises(ValueError, match="markdown"):
        nb.say("")
    nb.finish()
    document = json.loads((tmp_path / "99_glue" / "claims.json").read_text())
    assert document["glue"] == {"kappa": {"value": 0.8, "text": "0.80"}, "n": {"value": 16384.0, "text": "16384"}}
    assert claims.read_claims(tmp_path / "99_glue" / "claims.json") == []


def test_a_cell_ending_in_a_claim_shows_no_record_dict(tmp_path, monkeypatch):
    from IPython.core.formatters import DisplayFormatter

    from companion.pipeline.notebook import setup_notebook

    nb = setup_notebook("99_quiet", profile="quick")
    record = nb.check("a sanity bound", 0.5, 0, 1, "line")
    assert record["value"] == 0.5 and record["passed"] and isinstance(record, dict)
    assert DisplayFormatter().format(record) == ({}, {})  # what IPython shows for a cell's last value: nothing
    assert DisplayFormatter().format(dict(record))[0]  # a plain dict would be shown


def test_a_literal_quoting_a_window_bound_is_not_a_result_typed_by_hand():
    document = {"claims": [{"kind": "claim", "claim": "slope", "value": 1.159, "lo": -1.2, "hi": -0.8}]}
    cells = [("markdown", "Both claims use the fixed window $[-1.2, -0.8]$; the value printed 1.2.")]
    windows = prose.recorded_windows(document)
    assert windows == {-1.2, -0.8}
    stale = prose.stale_literals(cells, prose.recorded_results(document), windows)
    assert stale == [(0, "1.2", ["claim: slope"])]  # the unsigned 1.2 is the result; "-1.2" is the window
