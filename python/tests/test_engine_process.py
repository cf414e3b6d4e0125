"""Protocol round trips against the real engine subprocess."""
from __future__ import annotations

import itertools
import json
import time

import pytest
import soundfile as sf

_ids = itertools.count()


def rid(prefix="r"):
    return f"{prefix}{next(_ids)}"


def separate_req(input_path, out_dir, **extra):
    return {"id": rid("sep"), "cmd": "separate", "input": str(input_path), "out_dir": str(out_dir),
            "model": "htdemucs", **extra}


def assert_alive(engine):
    final, _ = engine.request({"id": rid("ping"), "cmd": "ping"}, timeout=10)
    assert final["type"] == "result" and final["result"]["pong"] is True


def test_ready_and_ping(engine):
    assert engine.ready == {"id": None, "type": "ready", "version": engine.ready["version"], "device": "cpu"}
    assert_alive(engine)


def test_malformed_lines_get_bad_input_and_engine_keeps_serving(engine):
    engine.send("this is not json")
    msg = engine.next_message(10)
    assert msg == {"id": None, "type": "error", "code": "bad_input", "message": msg["message"]}
    engine.send({"id": "x1", "cmd": "explode"})
    assert engine.next_message(10)["code"] == "bad_input"
    engine.send({"id": "x2", "cmd": "separate", "input": "/a.wav"})  # no out_dir/model
    msg = engine.next_message(10)
    assert (msg["id"], msg["code"]) == ("x2", "bad_input")
    engine.send({"id": "x3", "cmd": "separate", "input": "/a.wav", "out_dir": "/tmp", "model": "htdemucs",
                 "shifts": "many"})
    assert engine.next_message(10)["code"] == "bad_input"
    assert_alive(engine)


def test_separate_tone_gives_four_decodable_stems_with_monotonic_progress(engine, audio_dir, tmp_path):
    final, progress = engine.request(separate_req(audio_dir / "tone3.wav", tmp_path))
    assert final["type"] == "result", final
    result = final["result"]
    assert [s["name"] for s in result["stems"]] == ["drums", "bass", "other", "vocals"]
    assert result["duration"] == pytest.approx(3.0, abs=0.01)
    assert result["sample_rate"] == 44100 and result["device"] == "cpu"
    assert (result["backend"], result["precision"]) in (("openvino", "f32"), ("openvino", "bf16"))  # auto on a CPU
    for stem in result["stems"]:
        info = sf.info(stem["path"])
        assert (info.samplerate, info.channels, info.subtype) == (44100, 2, "PCM_16")
        assert info.frames == 3 * 44100
        assert stem["bytes"] > 0
    values = [p["progress"] for p in progress]
    assert values == sorted(values) and values[-1] == 100
    assert not list(tmp_path.glob(".*.part"))


BAD_INPUTS = [
    # (file, extra request fields, expected error code or None for success)
    ("empty.wav", {}, "unsupported_audio"),
    ("truncated.mp3", {}, "unsupported_audio"),  # 1/40 of a 3 s mp3: under the 1 s minimum
    ("half.mp3", {}, None),  # cut mid-frame: the decodable 1.5 s are separated
    ("text.mp3", {}, "unsupported_audio"),
    ("short.wav", {}, "unsupported_audio"),  # 0.1 s
    ("missing.wav", {}, "bad_input"),
    ("tone3.wav", {"max_duration": 2}, "too_long"),
    ("tone3.wav", {"model": "no_such_model"}, "bad_input"),
    ("tone3.wav", {"two_stems": "piano"}, "bad_input"),  # htdemucs has no piano
    ("silence.wav", {}, None),  # separates; stems are silent
    ("mono8k.wav", {}, None),  # resampled and duplicated to stereo
    ("surround96k.wav", {}, None),  # downmixed and resampled
]


@pytest.mark.parametrize("name,extra,code", BAD_INPUTS, ids=[c[0] + str(c[1]) for c in BAD_INPUTS])
def test_each_bad_input_gets_its_code_and_engine_answers_next(engine, audio_dir, tmp_path, name, extra, code):
    final, _ = engine.request(separate_req(audio_dir / name, tmp_path, **extra))
    if code is None:
        assert final["type"] == "result", final
        result = final["result"]
        expected = {"silence.wav": 2.0, "half.mp3": 1.5}.get(name, 3.0)
        assert result["duration"] == pytest.approx(expected, abs=0.1)
        for stem in result["stems"]:
            audio, sr = sf.read(stem["path"])
            assert sr == 44100 and audio.shape[1] == 2
            if name == "silence.wav":
                assert abs(audio).max() < 1e-3
    else:
        assert final["type"] == "error" and final["code"] == code, final
        assert final["message"]
        assert not [p for p in tmp_path.iterdir()]  # nothing left behind
    assert_alive(engine)


def test_model_missing_lists_files(engine_env, audio_dir, tmp_path):
    from conftest import EngineProcess
    empty = tmp_path / "models"
    empty.mkdir()
    e = EngineProcess({**engine_env, "SFA_MODEL_DIR": str(empty)})
    try:
        final, _ = e.request({**separate_req(audio_dir / "tone3.wav", tmp_path / "out"), "model": "htdemucs_ft"})
    finally:
        e.close()
    assert final["code"] == "model_missing"
    assert final["details"]["files"] == ["htdemucs_ft.yaml", "f7e0c4bc-*.th", "d12395a8-*.th", "92cfc3b6-*.th",
                                         "04573f0d-*.th"]
    assert str(empty) in final["message"] and "htdemucs_ft.yaml" in final["message"]


def test_cancel_running_request_within_two_seconds(engine, audio_dir, tmp_path):
    req = separate_req(audio_dir / "long30.wav", tmp_path, shifts=2)
    engine.send(req)
    while True:  # wait until it is really separating
        msg = engine.next_message(60)
        if msg["id"] == req["id"] and msg.get("stage") == "separating":
            break
    sent = time.monotonic()
    final, _ = engine.request({"id": rid("cancel"), "cmd": "cancel", "target": req["id"]}, timeout=10)
    assert final["result"] == {"target": req["id"], "found": True}
    final, _ = engine.collect(req["id"], timeout=10)
    assert final["code"] == "cancelled"
    assert time.monotonic() - sent < 2.0
    assert list(tmp_path.iterdir()) == []  # partial files removed
    assert_alive(engine)


def test_cancel_queued_request_and_unknown_target(engine, audio_dir, tmp_path):
    first = separate_req(audio_dir / "tone3.wav", tmp_path / "a")
    second = separate_req(audio_dir / "tone3.wav", tmp_path / "b")
    engine.send(first)
    engine.send(second)
    engine.send({"id": "c-unknown", "cmd": "cancel", "target": "nope"})
    engine.send({"id": "c-second", "cmd": "cancel", "target": second["id"]})
    finals = {}
    while len(finals) < 4:
        msg = engine.next_message(120)
        if msg["type"] != "progress":
            finals[msg["id"]] = msg
    assert finals["c-unknown"]["result"] == {"target": "nope", "found": False}
    assert finals[first["id"]]["type"] == "result"
    assert finals[second["id"]]["code"] == "cancelled"


def test_ping_answers_while_separating(engine, audio_dir, tmp_path):
    req = separate_req(audio_dir / "tone12.wav", tmp_path)
    engine.send(req)
    sent = time.monotonic()
    final, _ = engine.request({"id": "busy-ping", "cmd": "ping"}, timeout=5)
    assert time.monotonic() - sent < 1.5
    assert final["result"]["pong"] is True
    final, _ = engine.collect(req["id"])
    assert final["type"] == "result"


def test_stdout_carries_only_protocol_lines(engine):
    assert engine.raw_lines
    for line in engine.raw_lines:
        msg = json.loads(line)
        assert msg["type"] in ("ready", "progress", "result", "error")


def test_analyze_is_wired_to_the_analyzer(engine, tmp_path):
    # Cheap paths only (the analyzer's own tests cover the numbers): the request
    # reaches sfa_engine.analysis and its errors come back with their codes.
    final, _ = engine.request({"id": rid("an"), "cmd": "analyze", "input": str(tmp_path / "missing.wav")}, timeout=120)
    assert (final["type"], final["code"]) == ("error", "bad_input")
    engine.send({"id": "an-bad", "cmd": "analyze", "input": "/x.wav", "features": ["bpm"]})
    assert engine.next_message(10)["code"] == "bad_input"
    assert_alive(engine)
