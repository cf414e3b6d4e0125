"""Key naming, Camelot codes, MIREX scoring and Krumhansl-Schmuckler on profiles."""

from __future__ import annotations

import numpy as np
import pytest

from sfa_engine.analysis_key import (
    ENDING_SECONDS,
    MAJOR_PROFILE,
    MIDI_HIGH,
    MIDI_LOW,
    MINOR_PROFILE,
    PROFILES,
    KeyEvidence,
    camelot_code,
    estimate_key,
    key_evidence,
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


# -- tonic evidence and confidence ------------------------------------------------------

C_MAJOR_TRIAD = np.array([1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0], float)
A_MINOR_TRIAD = np.roll([1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0], 9).astype(float)


def _between_relatives() -> np.ndarray:
    """A chroma halfway between C major and A minor: the notes of both, no tonic emphasis."""
    return np.roll(MAJOR_PROFILE, 0) / MAJOR_PROFILE.sum() + np.roll(MINOR_PROFILE, 9) / MINOR_PROFILE.sum()


@pytest.mark.parametrize("ending,expected", [(C_MAJOR_TRIAD, "C major"), (A_MINOR_TRIAD, "A minor")])
def test_the_final_chord_decides_between_relative_keys(ending, expected):
    estimate = estimate_key(KeyEvidence(_between_relatives(), ending=ending))
    assert estimate.name == expected


@pytest.mark.parametrize("bass_root,expected", [(0, "C major"), (9, "A minor")])
def test_the_bass_line_leans_towards_its_tonic(bass_root, expected):
    bass = np.zeros(12)
    bass[bass_root], bass[(bass_root + 7) % 12] = 1.0, 0.5  # root and fifth
    assert estimate_key(KeyEvidence(_between_relatives(), bass=bass)).name == expected


def test_confidence_is_lower_when_the_relative_key_is_as_likely():
    clear = estimate_key(KeyEvidence(MAJOR_PROFILE, ending=C_MAJOR_TRIAD))
    ambiguous = estimate_key(_between_relatives())
    assert clear.confidence > 0.5
    assert ambiguous.confidence < 0.25
    assert ambiguous.ranking[1][:2] in [(0, "major"), (9, "minor")]  # the runner-up is the other reading


def test_key_evidence_reads_bass_and_ending_from_a_semitone_spectrum():
    # 10 frames of an A2 bass under a C major triad, then 2 frames of an A minor triad.
    spectrum = np.zeros((MIDI_HIGH - MIDI_LOW, 12))
    for note in (30, 45, 60, 64, 67):  # F#1 and A2 bass, C4 E4 G4
        spectrum[note - MIDI_LOW, :10] = 1.0
    for note in (57, 60, 64):  # A3 C4 E4
        spectrum[note - MIDI_LOW, 10:] = 1.0
    active = np.ones(12, bool)
    active[0] = False  # silent frames do not count
    evidence = key_evidence(spectrum, active, frame_seconds=ENDING_SECONDS / 2)
    assert evidence.bass[9] > 0 and evidence.bass[6] > 0 and evidence.bass[0] == 0  # only F# and A are below C3
    assert evidence.chroma[6] == 0  # F#1 is below the chroma's range: a bass note, weighed as such
    assert set(np.nonzero(evidence.ending)[0]) == {0, 4, 9}  # the last two frames: A C E
    assert evidence.chroma[7] > 0  # G sounded earlier
    assert key_evidence(spectrum, np.zeros(12, bool), 0.1).bass is None  # all silent: no evidence


def test_key_profiles_are_the_published_numbers():
    assert set(PROFILES) == {"krumhansl", "temperley", "shaath", "edma", "albrecht"}
    for major, minor in PROFILES.values():
        assert len(major) == len(minor) == 12
        assert np.argmax(major) == 0 and np.argmax(minor) == 0  # the tonic weighs most
