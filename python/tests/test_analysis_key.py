"""Key naming, Camelot codes, MIREX scoring and Krumhansl-Schmuckler on profiles."""

from __future__ import annotations

import numpy as np
import pytest

from sfa_engine.analysis_key import (
    MAJOR_PROFILE,
    MINOR_PROFILE,
    camelot_code,
    estimate_key,
    key_name,
    mirex_key_score,
    parse_key,
)

# The Camelot wheel as DJs print it.
CAMELOT = {
    "C major": "8B", "G major": "9B", "D major": "10B", "A major": "11B", "E major": "12B",
    "B major": "1B", "F# major": "2B", "C# major": "3B", "G# major": "4B", "D# major": "5B",
    "A# major": "6B", "F major": "7B",
    "A minor": "8A", "E minor": "9A", "B minor": "10A", "F# minor": "11A", "C# minor": "12A",
    "G# minor": "1A", "D# minor": "2A", "A# minor": "3A", "F minor": "4A", "C minor": "5A",
    "G minor": "6A", "D minor": "7A",
}


@pytest.mark.parametrize("name,code", sorted(CAMELOT.items()))
def test_camelot_code_matches_the_wheel(name, code):
    assert camelot_code(*parse_key(name)) == code


def test_key_names_use_sharps():
    assert key_name(6, "minor") == "F# minor"
    assert key_name(10, "major") == "A# major"
    assert parse_key("Bb major") == (10, "major")
    assert parse_key("F# minor") == (6, "minor")
    with pytest.raises(ValueError):
        parse_key("H major")
    with pytest.raises(ValueError):
        key_name(0, "dorian")


@pytest.mark.parametrize(
    "estimated,reference,score",
    [
        ("C major", "C major", 1.0),
        ("G major", "C major", 0.5),  # fifth above
        ("F major", "C major", 0.5),  # fifth below
        ("A minor", "C major", 0.3),  # relative
        ("C major", "A minor", 0.3),
        ("C minor", "C major", 0.2),  # parallel
        ("D major", "C major", 0.0),
        ("E minor", "A minor", 0.5),
        (None, "C major", 0.0),
    ],
)
def test_mirex_key_score(estimated, reference, score):
    assert mirex_key_score(estimated, reference) == score


@pytest.mark.parametrize("tonic", range(12))
@pytest.mark.parametrize("mode,profile", [("major", MAJOR_PROFILE), ("minor", MINOR_PROFILE)])
def test_a_rotated_profile_is_its_own_key(tonic, mode, profile):
    estimate = estimate_key(np.roll(profile, tonic))
    assert (estimate.tonic, estimate.mode) == (tonic, mode)
    assert estimate.correlation == pytest.approx(1.0)
    assert 0.0 < estimate.confidence <= 1.0
    assert len(estimate.ranking) == 24


@pytest.mark.parametrize("vector", [np.zeros(12), np.full(12, 0.3)])
def test_flat_or_silent_chroma_has_no_key(vector):
    estimate = estimate_key(vector)
    assert estimate.name is None and estimate.camelot is None
    assert estimate.confidence == 0.0
