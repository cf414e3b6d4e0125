"""Test-model generation, loading through demucs' own code, and missing files."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from sfa_engine.catalog import load_catalog
from sfa_engine.errors import EngineError
from sfa_engine.make_test_model import checkpoint_bytes, main as make_main
from sfa_engine.models import ModelCache, load_demucs_model, missing_files


@pytest.mark.parametrize("name", ["htdemucs", "htdemucs_ft", "htdemucs_6s", "mdx_extra"])
def test_test_models_load_through_demucs_get_model(model_dir, name):
    from demucs.apply import BagOfModels
    from demucs.hdemucs import HDemucs
    from demucs.htdemucs import HTDemucs
    from demucs.pretrained import get_model
    entry = load_catalog().get(name)
    model = get_model(name, repo=Path(model_dir))
    assert isinstance(model, BagOfModels)
    assert list(model.sources) == list(entry.stems)
    assert len(model.models) == len(entry.members)
    klass = HDemucs if name == "mdx_extra" else HTDemucs
    assert all(type(m) is klass for m in model.models)
    if name == "htdemucs_ft":
        assert model.weights == [[1.0 if i == j else 0.0 for j in range(4)] for i in range(4)]
    if name == "mdx_extra":
        assert all(m.segment == 44 for m in model.models)


def test_files_are_named_by_signature_and_sha256(model_dir):
    for path in Path(model_dir).glob("*.th"):
        sig, digest = path.stem.split("-")
        assert hashlib.sha256(path.read_bytes()).hexdigest()[:8] == digest
        assert any(sig in m.members for m in load_catalog().models)


def test_state_is_float16_like_published_files(model_dir):
    import torch
    path = next(Path(model_dir).glob("955717e8-*.th"))
    package = torch.load(path, "cpu", weights_only=False)
    assert set(package) >= {"klass", "args", "kwargs", "state"}
    floats = [v for v in package["state"].values() if v.is_floating_point()]
    assert floats and all(v.dtype == torch.float16 for v in floats)


def test_generation_is_deterministic():
    a = checkpoint_bytes("htdemucs", "tiny", ["drums", "bass", "other", "vocals"], seed=7)
    b = checkpoint_bytes("htdemucs", "tiny", ["drums", "bass", "other", "vocals"], seed=7)
    assert hashlib.sha256(a).digest() == hashlib.sha256(b).digest()


def test_full_size_htdemucs_matches_published_size():
    import io
    import torch
    data = checkpoint_bytes("htdemucs", "full", ["drums", "bass", "other", "vocals"], seed=0)
    package = torch.load(io.BytesIO(data), "cpu", weights_only=False)
    params = sum(v.numel() for v in package["state"].values())
    assert 41e6 < params < 43e6
    assert 80e6 < len(data) < 88e6  # the real 955717e8 file is ~84 MB


def test_cli_rejects_unknown_name(tmp_path, capsys):
    assert make_main(["--name", "nope", "--dir", str(tmp_path)]) == 2
    assert "unknown model" in capsys.readouterr().err


def test_missing_files_lists_yaml_and_signatures(tmp_path):
    entry = load_catalog().get("mdx_extra")
    missing = missing_files(entry, tmp_path)
    assert missing.files == ["mdx_extra.yaml", "e51eebcc-*.th", "a1d90b5c-*.th", "5d2d6c55-*.th", "cfa93e08-*.th"]
    (tmp_path / "mdx_extra.yaml").write_text("models: []\n")
    (tmp_path / "a1d90b5c-12345678.th").write_bytes(b"")
    assert missing_files(entry, tmp_path).files == ["e51eebcc-*.th", "5d2d6c55-*.th", "cfa93e08-*.th"]
    with pytest.raises(EngineError) as err:
        load_demucs_model(entry, tmp_path)
    assert err.value.code == "model_missing" and str(tmp_path) in err.value.message
    assert missing_files(entry, None).directory.startswith("$SFA_MODEL_DIR")


def test_corrupt_checkpoint_is_model_missing(model_dir, tmp_path):
    import shutil
    for f in Path(model_dir).glob("955717e8-*"):
        shutil.copy(f, tmp_path / f.name)
    shutil.copy(Path(model_dir) / "htdemucs.yaml", tmp_path)
    th = next(tmp_path.glob("955717e8-*.th"))
    th.write_bytes(th.read_bytes()[:-10] + b"0123456789")  # checksum in the name no longer matches
    with pytest.raises(EngineError) as err:
        load_demucs_model(load_catalog().get("htdemucs"), tmp_path)
    assert err.value.code == "model_missing" and "checksum" in err.value.message.lower()


def test_cache_evicts_least_recently_used_within_budget(model_dir):
    cat = load_catalog()
    cache = ModelCache(Path(model_dir), "cpu", budget_bytes=3 * 2**20)  # ~2 tiny models
    cache.get(cat.get("htdemucs"))
    cache.get(cat.get("htdemucs_6s"))
    cache.get(cat.get("htdemucs"))  # refresh
    cache.get(cat.get("mdx_extra"))  # 4 x 1.2 MB: over budget on its own, still kept
    assert cache.loaded() == ["mdx_extra"]
    small = ModelCache(Path(model_dir), "cpu", budget_bytes=3 * 2**20)
    small.get(cat.get("htdemucs"))
    small.get(cat.get("htdemucs_6s"))
    assert small.loaded() == ["htdemucs", "htdemucs_6s"]
    small.get(cat.get("htdemucs"))
    small.get(cat.get("htdemucs_ft"))
    assert small.loaded() == ["htdemucs_ft"]
