"""Key and tempo accuracy on a fast subset of the song corpus (python/tests/key_corpus.py).

bench/key_accuracy.py runs the whole corpus (48 songs per set + the cadence grid)
against Essentia and librosa; docs/benchmarks.md has its table. Here: 16
songs of the reported ("test") split, 4 per set, half major and half minor,
rendered with FluidSynth (cached under .cache/key-corpus), cut to 25 s so
rendering and analysis stay well under a minute. The floors sit a little
below what this subset measured (see the prints) so a regression of one or
two songs fails.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parents[2] / ".cache" / "numba"))

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import audio_fixtures as af  # noqa: E402
import key_corpus as kc  # noqa: E402
from sfa_engine.analysis import analyze_signal  # noqa: E402
from sfa_engine.analysis_key import mirex_key_score  # noqa: E402

# Song i of a set is in key all_keys()[i]: 1, 7 major; 14, 20 minor (different tonics per set via the offset).
SUBSET = [(set_name, i + offset) for offset, set_name in enumerate(kc.SETS) for i in (1, 7, 14, 20)]


def within(estimate, truth, tolerance=0.04) -> bool:
    return estimate is not None and abs(estimate / truth - 1.0) <= tolerance


@pytest.fixture(scope="module")
def subset_results() -> list[dict]:
    rows = []
    for set_name, index in SUBSET:
        song = kc.make_song(set_name, index, af.all_keys()[index % 24], "test", max_seconds=25.0)
        result = analyze_signal(kc.render(song), kc.SR, ["tempo", "key"])
        rows.append({"song": song, "key": result["key"], "tempo": result["tempo"],
                     "confidence": result["features"]["key_confidence"],
                     "alternatives": result["features"]["key_alternatives"],
                     "mirex": mirex_key_score(result["key"], song.key)})
    return rows


def test_the_corpus_is_reproducible_and_covers_what_it_claims():
    songs = [s for set_name in kc.SETS for s in kc.songs(set_name, "test")]
    assert len(songs) == 96
    assert {s.key for s in songs} == set(af.all_keys())
    assert all(70 <= s.bpm <= 180 for s in songs)
    assert all(20 <= s.seconds <= 65 for s in songs)  # 20-60 s, rounded to whole bars, plus a held final chord
    assert any("drums off" in s.description for s in songs) and any("drums rock" in s.description for s in songs)
    assert len({s.programs["chords"] for s in songs}) >= 8 and len({s.programs["bass"] for s in songs}) >= 5
    # Modulating songs: the label is the key of the longest section.
    for song in kc.songs("modulating", "test"):
        assert len(song.sections) == 2
        assert song.key == max(song.sections, key=lambda section: section[1])[0]
    # Same seed, same MIDI; dev and test splits differ.
    assert kc.midi_bytes(kc.make_song("pop", 3, "D# major")) == kc.midi_bytes(kc.make_song("pop", 3, "D# major"))
    assert kc.midi_bytes(kc.make_song("pop", 3, "D# major", "dev")) != kc.midi_bytes(kc.make_song("pop", 3, "D# major"))


def test_key_mirex_on_the_song_subset(subset_results):
    mirex = float(np.mean([r["mirex"] for r in subset_results]))
    misses = [(r["song"].name, r["song"].key, r["key"]) for r in subset_results if r["mirex"] < 1]
    print(f"song subset: key MIREX {mirex:.3f}, misses {misses}")
    assert mirex >= 0.85, misses


def test_tempo_acc1_on_the_song_subset_with_drums(subset_results):
    drummed = [r for r in subset_results if "drums off" not in r["song"].description]
    hits = [within(r["tempo"], r["song"].bpm) for r in drummed]
    print(f"song subset: tempo Acc1 {sum(hits)}/{len(hits)} on songs with drums")
    assert sum(hits) / len(hits) >= 0.75, [(r["song"].name, r["song"].bpm, r["tempo"]) for r in drummed]


def test_the_result_lists_runner_up_keys_with_scores(subset_results):
    for r in subset_results:
        assert len(r["alternatives"]) == 3
        assert all(set(a) == {"key", "score"} for a in r["alternatives"])
        assert r["key"] not in [a["key"] for a in r["alternatives"]]
        scores = [a["score"] for a in r["alternatives"]]
        assert scores == sorted(scores, reverse=True)
        assert 0.0 <= r["confidence"] <= 1.0
