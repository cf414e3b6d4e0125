"""Essentia anchors for bench/key_accuracy.py; runs INSIDE the benchmark's own venv.

Essentia is AGPL-3.0, so it is never imported by the project: key_accuracy.py
creates bench/out/essentia-venv, installs essentia there and runs this file
with that interpreter. Input: JSON list of WAV paths on stdin. Output: one JSON
object per path on stdout: the KeyExtractor key per profile and
RhythmExtractor2013's BPM.
"""

import json
import sys

import essentia
import essentia.standard as es

PROFILES = ("shaath", "bgate", "edma", "krumhansl", "temperley")


def main() -> None:
    essentia.log.infoActive = False
    essentia.log.warningActive = False
    extractors = {p: es.KeyExtractor(profileType=p, sampleRate=44100) for p in PROFILES}
    rhythm = es.RhythmExtractor2013(method="multifeature")
    for path in json.load(sys.stdin):
        audio = es.MonoLoader(filename=path, sampleRate=44100)()
        out = {"path": path, "keys": {}}
        for profile, extractor in extractors.items():
            key, scale, strength = extractor(audio)
            out["keys"][profile] = {"key": f"{key} {scale}", "strength": float(strength)}
        out["bpm"] = float(rhythm(audio)[0])
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
