"""Separation numerics, in process: streaming == demucs whole-track, stems sum
to the mix, output formats, shifts and clipping."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import SR, tone_noise, write_wav
from sfa_engine.catalog import load_catalog
from sfa_engine.errors import EngineError
from sfa_engine.models import ModelCache
from sfa_engine.protocol import SeparateRequest
from sfa_engine.separate import separate


@pytest.fixture(scope="module")
def cache(model_dir):
    import torch
    torch.set_num_threads(2)
    return ModelCache(model_dir, "cpu")


def run(cache, input_path, out_dir, progress=None, **kw):
    req = SeparateRequest(input=str(input_path), out_dir=str(out_dir), model=kw.pop("model", "htdemucs"), **kw)
    seen = []
    result = separate(req, cache, load_catalog(), progress or (lambda v, s: seen.append(v)), lambda: False)
    return result, seen


def demucs_whole_track(model, wav: np.ndarray, segment=None, overlap=0.25) -> np.ndarray:
    """What demucs.api.Separator does: normalise, apply_model(split=True), undo;
    then the same mixture-consistency projection the engine applies."""
    import torch
    from demucs.apply import apply_model
    x = torch.from_numpy(wav)
    ref = x.mean(0)
    mean, std = ref.mean(), ref.std() + 1e-8
    with torch.no_grad():
        out = apply_model(model, ((x - mean) / std)[None], shifts=0, split=True, overlap=overlap, segment=segment)
    stems = (out * std + mean)[0].numpy()
    return stems + (wav - stems.sum(0))[None] / stems.shape[0]


@pytest.mark.parametrize("model_name,segment", [("htdemucs", None), ("htdemucs", 2.0), ("mdx_extra", 3.0)])
def test_streaming_equals_demucs_whole_track(cache, tmp_path, model_name, segment):
    wav = tone_noise(17.3, seed=3)  # not a multiple of any stride: exercises the short last window
    src = write_wav(tmp_path / "in.wav", wav)
    result, _ = run(cache, src, tmp_path / "out", model=model_name, wav_subtype="FLOAT", segment=segment)
    entry = load_catalog().get(model_name)
    expected = demucs_whole_track(cache.get(entry), wav, segment=segment)
    for k, stem in enumerate(result["stems"]):
        got, _ = sf.read(stem["path"], dtype="float32")
        assert got.shape == (wav.shape[1], 2)
        err = np.abs(got.T - expected[k]).max()
        assert err < 1e-4 * max(1.0, np.abs(expected[k]).max()), (stem["name"], err)


def test_stems_sum_back_to_the_mix(cache, tmp_path, audio_dir):
    result, progress = run(cache, audio_dir / "tone12.wav", tmp_path, wav_subtype="FLOAT", model="htdemucs_ft")
    mix, _ = sf.read(audio_dir / "tone12.wav", dtype="float32")
    total = sum(sf.read(s["path"], dtype="float32")[0] for s in result["stems"])
    assert np.abs(total - mix).max() < 1e-5
    assert progress == sorted(progress) and progress[-1] == 100
    assert result["clipped"] == {"drums": 0, "bass": 0, "other": 0, "vocals": 0}


def test_two_stems_vocals_plus_accompaniment(cache, tmp_path, audio_dir):
    result, _ = run(cache, audio_dir / "tone3.wav", tmp_path, two_stems="vocals", wav_subtype="FLOAT")
    assert [s["name"] for s in result["stems"]] == ["vocals", "accompaniment"]
    mix, _ = sf.read(audio_dir / "tone3.wav", dtype="float32")
    vocals, acc = (sf.read(s["path"], dtype="float32")[0] for s in result["stems"])
    assert np.abs(vocals + acc - mix).max() < 1e-5


def test_six_stem_model(cache, tmp_path, audio_dir):
    result, _ = run(cache, audio_dir / "tone3.wav", tmp_path, model="htdemucs_6s")
    assert [s["name"] for s in result["stems"]] == ["drums", "bass", "other", "vocals", "guitar", "piano"]


@pytest.mark.parametrize("fmt,subtype,bitrate", [("wav", "PCM_24", 320), ("flac", "PCM_16", 320),
                                                  ("flac", "PCM_24", 320), ("mp3", "PCM_16", 128)])
def test_output_formats(cache, tmp_path, audio_dir, fmt, subtype, bitrate):
    result, _ = run(cache, audio_dir / "tone3.wav", tmp_path, format=fmt, wav_subtype=subtype, mp3_bitrate=bitrate)
    paths = [Path(s["path"]) for s in result["stems"]]
    assert all(p.suffix == f".{fmt}" and p.stat().st_size == s["bytes"] for p, s in zip(paths, result["stems"]))
    if fmt == "mp3":
        from mutagen.mp3 import MP3
        info = MP3(paths[0]).info
        assert info.bitrate == bitrate * 1000 and info.sample_rate == SR and info.channels == 2
        assert info.length == pytest.approx(3.0, abs=0.1)
    else:
        info = sf.info(str(paths[0]))
        assert (info.format, info.subtype, info.frames) == (fmt.upper(), subtype, 3 * SR)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)  # no .part left


def test_shifts_are_supported(cache, tmp_path, audio_dir):
    result, _ = run(cache, audio_dir / "tone3.wav", tmp_path, shifts=2, wav_subtype="FLOAT")
    mix, _ = sf.read(audio_dir / "tone3.wav", dtype="float32")
    total = sum(sf.read(s["path"], dtype="float32")[0] for s in result["stems"])
    assert total.shape == mix.shape and np.abs(total - mix).max() < 1e-5


def test_integer_formats_clip_and_report(cache, tmp_path):
    # A mix 12x over full scale: with stems summing to it, some stem must exceed 1.
    loud = tone_noise(3.0, level=12.0)
    src = write_wav(tmp_path / "loud.wav", loud)
    result, _ = run(cache, src, tmp_path / "out")
    assert sum(result["clipped"].values()) > 0
    for stem in result["stems"]:
        audio, _ = sf.read(stem["path"])
        assert np.abs(audio).max() <= 1.0
    floats, _ = run(cache, src, tmp_path / "float", wav_subtype="FLOAT")
    assert sum(floats["clipped"].values()) == 0


def test_segment_longer_than_model_allows_is_bad_input(cache, tmp_path, audio_dir):
    with pytest.raises(EngineError) as err:
        run(cache, audio_dir / "tone3.wav", tmp_path, segment=30.0)
    assert err.value.code == "bad_input"
