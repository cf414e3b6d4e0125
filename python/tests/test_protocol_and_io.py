"""Request validation and the audio I/O helpers, without a subprocess."""
from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from sfa_engine.audio_io import StemWriter, decode_blocks, probe
from sfa_engine.errors import EngineError
from sfa_engine.protocol import BadRequest, parse_request


def line(**obj):
    return json.dumps(obj)


def test_separate_defaults():
    req = parse_request(line(id="a", cmd="separate", input="/x.wav", out_dir="/o", model="htdemucs"))
    body = req.body
    assert (body.format, body.wav_subtype, body.mp3_bitrate, body.shifts, body.overlap) == ("wav", "PCM_16", 320, 0, 0.25)
    assert body.segment is None and body.two_stems is None and body.max_duration is None


@pytest.mark.parametrize("bad", [
    {"format": "ogg"}, {"wav_subtype": "PCM_8"}, {"mp3_bitrate": 100}, {"shifts": -1}, {"shifts": 1.5},
    {"shifts": True}, {"overlap": 0.95}, {"segment": 0}, {"max_duration": 0}, {"input": ""},
    {"format": "flac", "wav_subtype": "FLOAT"},
])
def test_separate_rejects(bad):
    obj = {"id": "a", "cmd": "separate", "input": "/x.wav", "out_dir": "/o", "model": "htdemucs", **bad}
    with pytest.raises(BadRequest) as err:
        parse_request(json.dumps(obj))
    assert err.value.request_id == "a" and err.value.code == "bad_input"


def test_analyze_and_cancel_parse():
    req = parse_request(line(id="b", cmd="analyze", input="/x.wav", features=["tempo", "key"]))
    assert req.body.features == ["tempo", "key"]
    with pytest.raises(BadRequest):
        parse_request(line(id="b", cmd="analyze", input="/x.wav", features=["bpm"]))
    assert parse_request(line(id="c", cmd="cancel", target="b")).body == "b"


def test_unreadable_lines():
    for text, rid in [("{", None), ("[]", None), (line(cmd="ping"), None), (line(id=3, cmd="ping"), None),
                      (line(id="z", cmd="fly"), "z")]:
        with pytest.raises(BadRequest) as err:
            parse_request(text)
        assert err.value.request_id == rid


def test_decode_converts_any_layout_to_44k1_stereo(audio_dir):
    mono = np.concatenate(list(decode_blocks(str(audio_dir / "mono8k.wav"), 44100)), axis=1)
    assert mono.shape[0] == 2 and abs(mono.shape[1] - 3 * 44100) < 100
    assert np.allclose(mono[0], mono[1])  # mono duplicated
    surround = np.concatenate(list(decode_blocks(str(audio_dir / "surround96k.wav"), 10000)), axis=1)
    assert surround.shape[0] == 2 and abs(surround.shape[1] - 3 * 44100) < 100
    assert probe(str(audio_dir / "surround96k.wav")).channels == 6


def test_probe_rejects_non_audio(audio_dir):
    with pytest.raises(EngineError) as err:
        probe(str(audio_dir / "text.mp3"))
    assert err.value.code == "unsupported_audio"


def test_stem_writer_part_file_commit_and_abort(tmp_path):
    w = StemWriter(tmp_path, "vocals", "wav", "PCM_16")
    assert w.part_path.name == ".vocals.wav.part" and w.part_path.exists()
    w.write(np.array([[0.5, 1.5, -2.0], [0.0, 0.1, 1.0]], dtype=np.float32))
    assert w.clipped == 2
    path = w.commit()
    assert path.name == "vocals.wav" and not w.part_path.exists()
    data, _ = sf.read(path)
    assert data.max() <= 1.0 and data.min() >= -1.0
    w2 = StemWriter(tmp_path, "drums", "mp3")
    w2.write(np.zeros((2, 1000), np.float32))
    w2.abort()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vocals.wav"]
