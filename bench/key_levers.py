"""What each ingredient of the key estimator is worth, one at a time, on the song corpus.

    NUMBA_CACHE_DIR=$PWD/.cache/numba python/.venv/bin/python bench/key_levers.py --split test

Same corpus as bench/key_accuracy.py (python/tests/key_corpus.py). Per song
it computes, once, the semitone spectrum of the key's 8192-point STFT
(sfa_engine.analysis_key.peak_semitones, cached under
bench/out/key-levers/<split>/) and then scores variants of the estimator:

* the profile alone (Krumhansl, Temperley, Sha'ath, edma, Albrecht-Shanahan);
* + the bass line (notes below C3; its pitch-class shares squared)
  correlated with the same profile, and the first version's linear bass;
* + the final chord's fit to the tonic triad;
* partial suppression (subtracting each note's expected upper partials
  before folding to pitch classes), on top of the shipped combination;
* harmonic function (bench/key_chords.py): the chords' fit to each key and
  the cadences into its tonic, at several weights, on top of the shipped
  combination;
* an Aeolian minor profile (edma's or Sha'ath's, whose b7 outweighs the
  leading tone) competing with Albrecht-Shanahan's for each minor key;
* the shipped estimator (sfa_engine.analysis_key.estimate_key);
* with ``--stems``: the shipped estimator on ideal "other + bass" stems of
  the song sets (the same MIDI rendered without drums and melody), i.e. what
  analysing separated stems could at best add.

The weights were chosen on ``--split dev --count 48`` (48 songs per song
set; the cadence sets keep their 48); ``--split test`` is what
docs/benchmarks.md reports. Prints a Markdown table (MIREX per set).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import defaultdict
from typing import NamedTuple
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "python"), str(REPO / "python" / "tests"), str(REPO / "bench")]
os.environ.setdefault("NUMBA_CACHE_DIR", str(REPO / ".cache" / "numba"))

import numpy as np  # noqa: E402

import key_accuracy as ka  # noqa: E402
import key_chords  # noqa: E402
from sfa_engine import analysis_key as ak  # noqa: E402
from sfa_engine.analysis import HOP_LENGTH, KEY_FMIN_HZ, KEY_HOP_LENGTH, KEY_N_FFT, SAMPLE_RATE, active_frames  # noqa: E402

PARTIAL_OFFSETS = (12, 19, 24, 28, 31)  # partials 2..6 of a harmonic tone, in semitones
PARTIAL_SHARE = (0.5, 0.33, 0.25, 0.2, 0.17)  # about 1/k of the fundamental


def suppress_partials(spectrum: np.ndarray, strength: float = 1.0) -> np.ndarray:
    """Going up from the lowest note, subtract each note's expected upper partials from the notes above."""
    out = spectrum.copy()
    for row in range(out.shape[0]):
        for offset, share in zip(PARTIAL_OFFSETS, PARTIAL_SHARE):
            if row + offset < out.shape[0]:
                np.maximum(out[row + offset] - strength * share * out[row], 0.0, out=out[row + offset])
    return out


def stem_cases(sets: list[str], split: str):
    """The song sets' songs with only their chords and bass: ideal "other + bass" stems."""
    import dataclasses

    import key_corpus as kc

    for set_name in sets:
        if set_name in kc.SETS:
            for song in kc.songs(set_name, split):
                stems = dataclasses.replace(song, notes=[n for n in song.notes if n.part in ("chords", "bass")])
                yield set_name, f"{song.name}-stems", song.key, song.bpm, (lambda s=stems: kc.render(s))


def spectra(split: str, sets: list[str], stems: bool = False, count: int = 24):
    import librosa

    cache = REPO / "bench" / "out" / "key-levers" / split
    cache.mkdir(parents=True, exist_ok=True)
    for set_name, name, key, _bpm, render in (stem_cases(sets, split) if stems else ka.cases(sets, split, count)):
        path = cache / f"{name}.npz"
        if not path.exists():
            y = render()
            magnitude = np.abs(librosa.stft(y, n_fft=KEY_N_FFT, hop_length=KEY_HOP_LENGTH))
            spectrum, _ = ak.peak_semitones(magnitude, SAMPLE_RATE, KEY_N_FFT, fmin=KEY_FMIN_HZ)
            rms = librosa.feature.rms(y=y, frame_length=2048, hop_length=HOP_LENGTH)[0]
            active = active_frames(rms)[:: KEY_HOP_LENGTH // HOP_LENGTH][: spectrum.shape[1]]
            np.savez_compressed(path, spectrum=spectrum.astype(np.float32), active=active)
        data = np.load(path)
        yield set_name, key, data["spectrum"].astype(np.float64), data["active"]


SHIPPED_BASS = (ak.BASS_WEIGHT, ak.BASS_POWER)
LINEAR_BASS = (0.5, 1)  # the first version: the bass line's pitch classes as they are, weight 0.5
# (chord-function weight, cadence weight) pairs tried on top of the profile + bass + final chord.
CHORD_LEVERS = ((0.25, 0.0), (0.5, 0.0), (0.0, 0.25), (0.0, 0.5), (0.25, 0.5), (0.5, 0.5))


class Variant(NamedTuple):
    """One estimator variant: ``bass`` is None or (weight, power) of the bass-line term, ``chords`` the
    (chord-function, cadence) weights, ``minor`` a second profile whose minor keys compete with ``profile``'s."""

    profile: str
    bass: tuple[float, float] | None
    ending: bool
    suppress: bool = False
    chords: tuple[float, float] = (0.0, 0.0)
    minor: str | None = None


def variant_scores(evidence: ak.KeyEvidence, variant: Variant, chord_terms) -> np.ndarray:
    """Scores of the 24 keys under ``variant``; ``chord_terms`` from :func:`key_chords.chord_terms`."""
    weight, power = variant.bass or (0.0, 1)
    ending = ak.ENDING_WEIGHT if variant.ending else 0.0
    profile_sets = [ak.key_profiles(*ak.PROFILES[variant.profile])]
    if variant.minor:  # each minor key takes the better of the two minor profiles
        profile_sets.append(ak.key_profiles(ak.PROFILES[variant.profile][0], ak.PROFILES[variant.minor][1]))
    scores = np.max([ak.key_scores(evidence, profiles, bass_weight=weight, bass_power=power, ending_weight=ending)
                     for profiles in profile_sets], axis=0)
    functions, cadences = chord_terms
    return scores + variant.chords[0] * functions + variant.chords[1] * cadences


def name_of(index: int) -> str:
    return ak.key_name(index % 12, ak.MODES[index // 12])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", default="test")
    parser.add_argument("--sets", default="pop,jazz,mixture,modulating,cadence-fluidsynth")
    parser.add_argument("--stems", action="store_true", help="also score ideal other+bass stems of the song sets")
    parser.add_argument("--count", type=int, default=24,
                        help="songs per song set (48 on dev: the weights were chosen on 48 dev songs per set)")
    args = parser.parse_args(argv)
    frame_seconds = KEY_HOP_LENGTH / SAMPLE_RATE
    variants: dict[str, Variant] = {}
    for profile in ak.PROFILES:
        variants[f"{profile} profile alone"] = Variant(profile, None, False)
    variants[f"{ak.PROFILE} + bass line"] = Variant(ak.PROFILE, SHIPPED_BASS, False)
    variants[f"{ak.PROFILE} + final chord"] = Variant(ak.PROFILE, None, True)
    variants[f"{ak.PROFILE} + linear bass (0.5) + final chord (first version)"] = Variant(ak.PROFILE, LINEAR_BASS, True)
    variants[f"{ak.PROFILE} + bass + final chord (shipped)"] = Variant(ak.PROFILE, SHIPPED_BASS, True)
    variants["+ partial suppression"] = Variant(ak.PROFILE, SHIPPED_BASS, True, suppress=True)
    for chord, cadence in CHORD_LEVERS:
        variants[f"+ chord functions {chord} + cadences {cadence}"] = Variant(ak.PROFILE, SHIPPED_BASS, True,
                                                                            chords=(chord, cadence))
    for minor in ("edma", "shaath"):
        variants[f"+ {minor} minor profile as an alternative"] = Variant(ak.PROFILE, SHIPPED_BASS, True, minor=minor)
    results: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for set_name, key, spectrum, active in spectra(args.split, args.sets.split(","), count=args.count):
        plain = ak.key_evidence(spectrum, active, frame_seconds)
        chords = key_chords.chord_terms(spectrum, active, frame_seconds)
        suppressed = ak.key_evidence(suppress_partials(spectrum), active, frame_seconds)
        for label, variant in variants.items():
            estimate = name_of(int(np.argmax(variant_scores(suppressed if variant.suppress else plain, variant, chords))))
            results[label][set_name].append(ak.mirex_key_score(estimate, key))
            results[label]["all"].append(ak.mirex_key_score(estimate, key))
        shipped = ak.estimate_key(plain).name
        results["estimate_key (engine function)"][set_name].append(ak.mirex_key_score(shipped, key))
        results["estimate_key (engine function)"]["all"].append(ak.mirex_key_score(shipped, key))
    if args.stems:
        for set_name, key, spectrum, active in spectra(args.split, args.sets.split(","), stems=True):
            estimate = ak.estimate_key(ak.key_evidence(spectrum, active, frame_seconds)).name
            results["estimate_key on other+bass stems"][set_name].append(ak.mirex_key_score(estimate, key))
            results["estimate_key on other+bass stems"]["all"].append(ak.mirex_key_score(estimate, key))
    columns = [*args.sets.split(","), "all"]
    print(f"MIREX per set, split {args.split}\n")
    print("| variant | " + " | ".join(columns) + " |\n|---|" + "---|" * len(columns))
    for label, per_set in results.items():
        print(f"| {label} | " + " | ".join(f"{np.mean(per_set[c]):.3f}" if per_set[c] else "" for c in columns) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
