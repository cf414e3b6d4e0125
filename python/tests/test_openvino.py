"""The OpenVINO backend: stems equal the torch path's, the conversion cache, and every fallback.

Conversions are shared: one session cache folder serves the equivalence tests;
tests that must see a miss use their own folder.
"""
from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import EngineProcess, tone_noise, write_wav
from sfa_engine import openvino_backend
from sfa_engine.backend_choice import choose_backend, choose_precision, has_native_bf16, parse_setting
from sfa_engine.catalog import load_catalog
from sfa_engine.errors import EngineError
from sfa_engine.models import ModelCache
from sfa_engine.openvino_backend import PREPARING, OpenVinoRuntime
from sfa_engine.protocol import SeparateRequest
from sfa_engine.separate import separate

# Simulated CPUs: OpenVINO's capability list with and without native bf16.
WITH_BF16 = ["FP32", "BF16", "INT8", "EXPORT_IMPORT"]
WITHOUT_BF16 = ["FP32", "INT8", "EXPORT_IMPORT"]
FLOOR_DB = {"f32": 90.0, "bf16": 45.0}


@pytest.fixture(scope="module", autouse=True)
def _threads():
    import torch
    torch.set_num_threads(2)


@pytest.fixture(scope="session")
def shared_cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ov-cache")


@pytest.fixture(scope="session")
def ov_caches(model_dir, shared_cache_dir) -> dict[str, ModelCache]:
    """One ModelCache per precision, compiled models shared across this module's tests.
    bf16 is asked for as on a bf16 CPU (simulated capability list); OpenVINO runs it
    where the CPU can (natively, or emulated on AVX-512) and compiles f32 elsewhere."""
    return {
        "f32": ModelCache(model_dir, "cpu", runtime=OpenVinoRuntime(shared_cache_dir, "f32")),
        "bf16": ModelCache(model_dir, "cpu", runtime=OpenVinoRuntime(shared_cache_dir, "bf16", capabilities=WITH_BF16)),
    }


@pytest.fixture(scope="session")
def torch_cache(model_dir) -> ModelCache:
    return ModelCache(model_dir, "cpu")


@pytest.fixture(scope="session")
def mix_path(tmp_path_factory) -> Path:
    return write_wav(tmp_path_factory.mktemp("ov-in") / "mix.wav", tone_noise(9.1, seed=5))


def run(cache, src, out_dir, model="htdemucs", cancelled=lambda: False, **kw):
    stages: list[str] = []
    req = SeparateRequest(input=str(src), out_dir=str(out_dir), model=model, wav_subtype="FLOAT", **kw)
    result = separate(req, cache, load_catalog(), lambda v, s: stages.append(s), cancelled)
    return result, stages


def stems_of(result) -> list[np.ndarray]:
    return [sf.read(s["path"], dtype="float64")[0] for s in result["stems"]]


def snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(reference ** 2) / max(np.sum((reference - estimate) ** 2), 1e-30)))


_torch_results: dict[str, list[np.ndarray]] = {}


def bf16_outcomes() -> set[str]:
    """What a bf16 request may compile to on this host: bf16 with native support, f32 on a CPU
    without AVX-512 (OpenVINO ignores the hint there), either in between (emulation is OpenVINO's call)."""
    import openvino as ov
    if "BF16" in openvino_backend.cpu_capabilities(ov.Core()):
        return {"bf16"}
    return {"f32"} if "avx512f" not in openvino_backend.cpu_flags() else {"bf16", "f32"}


@pytest.mark.parametrize("precision", ["f32", "bf16"])
@pytest.mark.parametrize("model", ["htdemucs", "htdemucs_6s", "htdemucs_ft"])
def test_stems_match_the_torch_path(ov_caches, torch_cache, mix_path, tmp_path, model, precision):
    if model not in _torch_results:
        reference, _ = run(torch_cache, mix_path, tmp_path / "torch", model=model)
        assert (reference["backend"], reference["precision"]) == ("torch", "f32")
        _torch_results[model] = stems_of(reference)
    result, _ = run(ov_caches[precision], mix_path, tmp_path / "ov", model=model)
    # The result says what really ran: bf16 where this CPU runs it, else f32 (held to f32's floor).
    ran = result["precision"]
    assert result["backend"] == "openvino"
    assert ran in ({"f32"} if precision == "f32" else bf16_outcomes()), (precision, ran)
    for name, ref, got in zip([s["name"] for s in result["stems"]], _torch_results[model], stems_of(result)):
        assert got.shape == ref.shape
        assert snr_db(ref, got) >= FLOOR_DB[ran], (model, ran, name, snr_db(ref, got))


def test_mdx_extra_runs_on_torch_and_says_why(ov_caches, mix_path, tmp_path):
    result, _ = run(ov_caches["f32"], mix_path, tmp_path, model="mdx_extra", segment=3.0)
    assert result["backend"] == "torch"
    note = ov_caches["f32"].get(load_catalog().get("mdx_extra")).sfa_backend.note
    assert "HDemucs" in note and "torch" in note


def entries(cache_dir: Path) -> dict[str, list[str]]:
    return {kind: sorted(p.name for p in cache_dir.glob(f"{kind}-*")) for kind in ("ir", "compiled")}


def load(model_dir, cache_dir: Path, model="htdemucs", **kw):
    """Load `model` through a brand-new runtime (what a new engine does); returns
    (model, runtime, stages shown)."""
    rt = OpenVinoRuntime(cache_dir, kw.pop("precision", "f32"), **kw)
    stages: list[str] = []
    loaded = ModelCache(model_dir, "cpu", runtime=rt).get(load_catalog().get(model), lambda v, s: stages.append(s))
    return loaded, rt, stages


def test_cache_miss_hit_corrupt_and_stale(model_dir, tmp_path, audio_dir):
    cache_dir = tmp_path / "cache"
    # Miss: converted once, the user is told, and the entries are in place with nothing temporary left.
    model, rt, stages = load(model_dir, cache_dir)
    assert model.sfa_backend.backend == "openvino" and PREPARING in stages and rt.builds == 1
    made = entries(cache_dir)
    assert len(made["ir"]) == 1 and len(made["compiled"]) == 1
    assert not [p for p in cache_dir.iterdir() if ".tmp-" in p.name or ".old-" in p.name]
    # Hit: a new engine converts nothing and shows no preparing stage.
    model, rt, stages = load(model_dir, cache_dir)
    assert model.sfa_backend.backend == "openvino" and stages == [] and rt.builds == 0
    # Corrupt blob: detected by its checksum and recompiled from the cached IR (no new conversion).
    blob = cache_dir / made["compiled"][0] / "compiled.blob"
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))
    model, rt, stages = load(model_dir, cache_dir)
    assert model.sfa_backend.backend == "openvino" and PREPARING in stages and rt.builds == 0
    assert entries(cache_dir) == made
    # Corrupt IR and a missing blob manifest: both rebuilt; a killed engine's half-written entry is swept.
    (cache_dir / made["ir"][0] / "model.bin").write_bytes(b"garbage")
    (cache_dir / f".{made['ir'][0]}.tmp-999999-deadbeef").mkdir()
    (cache_dir / f".{made['ir'][0]}.tmp-999999-deadbeef" / "model.bin").write_bytes(b"half")
    (cache_dir / made["compiled"][0] / "manifest.json").unlink()
    model, rt, stages = load(model_dir, cache_dir)
    assert model.sfa_backend.backend == "openvino" and rt.builds == 1
    assert not [p for p in cache_dir.iterdir() if ".tmp-" in p.name]
    # Stale: a manifest written for another OpenVINO version is not trusted.
    manifest = cache_dir / made["compiled"][0] / "manifest.json"
    doc = json.loads(manifest.read_text())
    doc["key"]["openvino"] = "1999.0"
    manifest.write_text(json.dumps(doc))
    model, rt, stages = load(model_dir, cache_dir)
    assert PREPARING in stages and json.loads(manifest.read_text())["key"]["openvino"] != "1999.0"
    # And the rebuilt model separates.
    cache = ModelCache(model_dir, "cpu", runtime=OpenVinoRuntime(cache_dir, "f32"))
    result, stages = run(cache, audio_dir / "tone3.wav", tmp_path / "out")
    assert result["backend"] == "openvino" and PREPARING not in stages


def test_two_engines_racing_on_an_empty_cache_convert_once(engine_env, audio_dir, tmp_path):
    cache_dir = tmp_path / "cache"
    env = {**engine_env, "SFA_CACHE_DIR": str(cache_dir), "SFA_SEPARATION_BACKEND": "openvino",
           "SFA_INFERENCE_PRECISION": "f32", "SFA_ENGINE_LOG_LEVEL": "INFO"}
    engines = [EngineProcess(env), EngineProcess(env)]
    finals: dict[int, tuple[dict, list[dict]]] = {}
    try:
        for i, e in enumerate(engines):
            e.send({"id": f"race{i}", "cmd": "separate", "input": str(audio_dir / "tone3.wav"),
                    "out_dir": str(tmp_path / f"out{i}"), "model": "htdemucs_6s"})
        threads = [threading.Thread(target=lambda i=i, e=e: finals.__setitem__(i, e.collect(f"race{i}", timeout=600)))
                   for i, e in enumerate(engines)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for e in engines:
            e.close()
    for i in (0, 1):
        final, progress = finals[i]
        assert final["type"] == "result", final
        assert (final["result"]["backend"], final["result"]["precision"]) == ("openvino", "f32")
    shown = [any(p["stage"] == PREPARING for p in finals[i][1]) for i in (0, 1)]
    assert any(shown)
    conversions = sum("converting the network" in line for e in engines for line in e.stderr_lines)
    assert conversions == 1
    made = entries(cache_dir)
    assert len(made["ir"]) == 1 and len(made["compiled"]) == 1
    assert not [p for p in cache_dir.iterdir() if ".tmp-" in p.name or ".old-" in p.name]


def test_failed_conversion_falls_back_to_torch(model_dir, tmp_path, audio_dir, monkeypatch, caplog):
    def broken(_net):
        raise RuntimeError("simulated converter failure")
    monkeypatch.setattr(openvino_backend, "convert_network", broken)
    cache = ModelCache(model_dir, "cpu", runtime=OpenVinoRuntime(tmp_path / "cache", "f32"))
    with caplog.at_level("WARNING", logger="sfa_engine.openvino"):
        result, _ = run(cache, audio_dir / "tone3.wav", tmp_path / "out")
    assert (result["backend"], result["precision"]) == ("torch", "f32")
    assert len(result["stems"]) == 4 and all(Path(s["path"]).stat().st_size > 0 for s in result["stems"])
    warnings = [r.getMessage() for r in caplog.records if "simulated converter failure" in r.getMessage()]
    assert len(warnings) == 1 and "separating with torch" in warnings[0]
    assert not entries(tmp_path / "cache")["compiled"]


def test_engine_without_openvino_separates_with_torch(engine_env, audio_dir, tmp_path):
    # A package named openvino that fails to import, first on the path: as if it were not installed.
    fake = tmp_path / "site"
    (fake / "openvino").mkdir(parents=True)
    (fake / "openvino" / "__init__.py").write_text("raise ImportError('simulated: no openvino here')\n")
    env = {**engine_env, "PYTHONPATH": os.pathsep.join([str(fake), engine_env.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    e = EngineProcess(env)
    try:
        final, _ = e.request({"id": "noov", "cmd": "separate", "input": str(audio_dir / "tone3.wav"),
                              "out_dir": str(tmp_path / "out"), "model": "htdemucs"}, timeout=300)
        ping, _ = e.request({"id": "noov-ping", "cmd": "ping"}, timeout=30)
    finally:
        e.close()
    assert final["type"] == "result", final
    assert (final["result"]["backend"], final["result"]["precision"]) == ("torch", "f32")
    assert ping["result"]["backend"] == "torch"
    assert any("OpenVINO is not available" in line and "simulated" in line for line in e.stderr_lines)


def test_bf16_requested_on_a_cpu_without_it_uses_f32_with_a_message(model_dir, shared_cache_dir, caplog):
    with caplog.at_level("WARNING", logger="sfa_engine.openvino"):
        rt = OpenVinoRuntime(shared_cache_dir, "bf16", capabilities=WITHOUT_BF16)
    assert rt.precision.value == "f32"
    assert any("bf16 was requested" in r.getMessage() and "using f32" in r.getMessage() for r in caplog.records)
    model = ModelCache(model_dir, "cpu", runtime=rt).get(load_catalog().get("htdemucs"))
    assert (model.sfa_backend.backend, model.sfa_backend.precision) == ("openvino", "f32")
    assert "bf16 was requested" in model.sfa_backend.note


def test_cancel_interrupts_a_window_in_flight(ov_caches, mix_path, tmp_path):
    cache = ov_caches["f32"]
    model = cache.get(load_catalog().get("htdemucs"))
    runner = model.models[0]._sfa_openvino
    runner.poll_ms = 1  # poll at once, so even a tiny model's window is caught in flight
    polled_in_flight = []

    def cancelled() -> bool:
        # True only when asked from inside an inference that is still running.
        if sys._getframe(1).f_code.co_name == "_infer":
            polled_in_flight.append(True)
            return True
        return False

    try:
        with pytest.raises(EngineError) as err:
            run(cache, mix_path, tmp_path, cancelled=cancelled)
    finally:
        runner.poll_ms = openvino_backend.CANCEL_POLL_MS
    assert err.value.code == "cancelled" and polled_in_flight
    assert list(tmp_path.iterdir()) == []  # partial stems removed
    result, _ = run(cache, mix_path, tmp_path / "again")  # the request object is reusable afterwards
    assert result["backend"] == "openvino"


# --- windows in flight -----------------------------------------------------------------

@pytest.fixture(scope="module")
def window_caches(model_dir, shared_cache_dir) -> dict[int, ModelCache]:
    """f32 with one and with two windows in flight, whatever this machine's core count."""
    return {n: ModelCache(model_dir, "cpu", runtime=OpenVinoRuntime(shared_cache_dir, "f32", windows=n)) for n in (1, 2)}


def overlapping(runner, monkeypatch) -> threading.Event:
    """Make the runner's first inference wait until a second one has started (set on
    overlap); a guard timeout keeps a broken pipeline from hanging the test."""
    second_started, first = threading.Event(), threading.Lock()
    original = runner._infer

    def infer(req, mag, mix):
        if first.acquire(blocking=False):
            second_started.wait(timeout=120)
        else:
            second_started.set()
        return original(req, mag, mix)
    monkeypatch.setattr(runner, "_infer", infer)
    return second_started


@pytest.mark.parametrize("model", ["htdemucs", "htdemucs_ft"])
def test_two_windows_in_flight_give_the_one_window_stems(window_caches, mix_path, tmp_path, monkeypatch, model):
    one = window_caches[1].get(load_catalog().get(model))
    two = window_caches[2].get(load_catalog().get(model))
    assert (openvino_backend.model_windows(one), openvino_backend.model_windows(two)) == (1, 2)
    overlapped = overlapping(two.models[0]._sfa_openvino, monkeypatch)
    ref, _ = run(window_caches[1], mix_path, tmp_path / "one", model=model)
    got, _ = run(window_caches[2], mix_path, tmp_path / "two", model=model)
    assert overlapped.is_set()  # a second window started while the first was still in the network
    for r, g in zip(stems_of(ref), stems_of(got)):
        # Only the compiled configuration differs (2 streams x 1 thread vs 1 x 2): float rounding.
        assert np.max(np.abs(r - g)) < 1e-5 and snr_db(r, g) >= 120


def test_progress_with_two_windows_is_monotonic_and_reaches_100(window_caches, mix_path, tmp_path):
    seen: list[tuple[float, str]] = []
    req = SeparateRequest(input=str(mix_path), out_dir=str(tmp_path), model="htdemucs_ft", wav_subtype="FLOAT")
    separate(req, window_caches[2], load_catalog(), lambda v, s: seen.append((v, s)), lambda: False)
    values = [v for v, _ in seen]
    assert values == sorted(values) and values[-1] == 100
    separating = [v for v, s in seen if s == "separating"]
    assert len(separating) > 4 and separating[-1] == pytest.approx(99)


def test_cancel_with_two_windows_in_flight_stops_both(window_caches, mix_path, tmp_path, monkeypatch):
    model = window_caches[2].get(load_catalog().get("htdemucs"))
    runner = model.models[0]._sfa_openvino
    overlapped = overlapping(runner, monkeypatch)
    monkeypatch.setattr(runner, "poll_ms", 1)
    polled = []

    def cancelled() -> bool:
        # True once two windows have been in the network together, asked from inside one.
        if overlapped.is_set() and sys._getframe(1).f_code.co_name == "_infer":
            polled.append(True)
            return True
        return False

    with pytest.raises(EngineError) as err:
        run(window_caches[2], mix_path, tmp_path, cancelled=cancelled)
    assert err.value.code == "cancelled" and polled
    assert runner.idle.qsize() == 2  # no window outlives the cancelled request
    assert list(tmp_path.iterdir()) == []


def test_one_core_keeps_one_window_and_its_own_blob(model_dir, tmp_path, monkeypatch):
    assert [openvino_backend.windows_in_flight(n, "f32") for n in (1, 2, 8)] == [1, 2, 2]
    assert [openvino_backend.windows_in_flight(n, "bf16") for n in (1, 2, 8)] == [1, 1, 1]
    monkeypatch.setattr(openvino_backend, "usable_cores", lambda: 1)
    rt = OpenVinoRuntime(tmp_path / "cache", "f32")
    assert rt.windows == 1 and rt.config()["PERFORMANCE_HINT"] == "LATENCY" and rt.config()["NUM_STREAMS"] == "1"
    assert OpenVinoRuntime(tmp_path / "cache", "f32", threads=1).windows == 1  # SFA_OPENVINO_THREADS=1
    model = ModelCache(model_dir, "cpu", runtime=rt).get(load_catalog().get("htdemucs"))
    assert openvino_backend.model_windows(model) == 1 and model.models[0]._sfa_openvino.idle.qsize() == 1
    monkeypatch.setattr(openvino_backend, "usable_cores", lambda: 2)
    rt2 = OpenVinoRuntime(tmp_path / "cache", "f32")
    assert rt2.windows == 2 and rt2.config()["PERFORMANCE_HINT"] == "THROUGHPUT" and rt2.config()["NUM_STREAMS"] == "2"
    # The blob is compiled for its streams: one entry each, one shared IR.
    ModelCache(model_dir, "cpu", runtime=rt2).get(load_catalog().get("htdemucs"))
    assert rt2.builds == 0 and len(entries(tmp_path / "cache")["compiled"]) == 2
    assert len(entries(tmp_path / "cache")["ir"]) == 1


def test_windows_setting(monkeypatch):
    from sfa_engine.models import pick_backend
    monkeypatch.setenv("SFA_SEPARATION_BACKEND", "openvino")
    monkeypatch.setenv("SFA_OPENVINO_WINDOWS", "1")
    assert pick_backend("cpu")[0].windows == 1
    monkeypatch.setenv("SFA_OPENVINO_WINDOWS", "3")
    with pytest.raises(ValueError, match="SFA_OPENVINO_WINDOWS must be one of auto, 1, 2"):
        pick_backend("cpu")


# --- settings (pure) -------------------------------------------------------------------

def test_settings_are_validated():
    assert parse_setting("SFA_SEPARATION_BACKEND", None, ("auto", "openvino", "torch")) == "auto"
    assert parse_setting("SFA_INFERENCE_PRECISION", " BF16 ", ("auto", "bf16", "f32")) == "bf16"
    with pytest.raises(ValueError, match="SFA_SEPARATION_BACKEND must be one of auto, openvino, torch"):
        parse_setting("SFA_SEPARATION_BACKEND", "onnx", ("auto", "openvino", "torch"))


@pytest.mark.parametrize("setting,device,error,expected,noted", [
    ("auto", "cpu", None, "openvino", False),
    ("auto", "cuda", None, "torch", False),
    ("auto", "cpu", "ImportError: x", "torch", True),
    ("openvino", "cpu", None, "openvino", False),
    ("openvino", "cpu", "ImportError: x", "torch", True),
    ("openvino", "cuda", None, "openvino", True),
    ("torch", "cpu", None, "torch", False),
])
def test_backend_choice(setting, device, error, expected, noted):
    choice = choose_backend(setting, device, error)
    assert choice.value == expected and (choice.note is not None) == noted


@pytest.mark.parametrize("setting,native,expected,noted", [
    ("auto", True, "bf16", False), ("auto", False, "f32", False),
    ("bf16", True, "bf16", False), ("bf16", False, "f32", True),
    ("f32", True, "f32", False), ("f32", False, "f32", False),
])
def test_precision_choice(setting, native, expected, noted):
    choice = choose_precision(setting, native)
    assert choice.value == expected and (choice.note is not None) == noted
    assert has_native_bf16(WITH_BF16) and not has_native_bf16(WITHOUT_BF16)
