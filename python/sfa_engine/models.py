"""Finding, checking and caching Demucs models from a local model directory.

The directory uses demucs' own local-repo layout (one flat folder):
`<sig>-<sha256[:8]>.th` per network plus `<name>.yaml` naming the bag. Loading
goes through `demucs.pretrained.get_model(name, repo=dir)`, i.e. demucs' real
code, so a directory that works here works with `python -m demucs --repo` too.
"""
from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from .catalog import CatalogModel, load_catalog
from .errors import EngineError

log = logging.getLogger("sfa_engine.models")

DEFAULT_BUDGET_MB = 4096


def model_dir_from_env() -> Path | None:
    value = os.environ.get("SFA_MODEL_DIR")
    return Path(value) if value else None


def model_command_args(prog: str, argv: list[str] | None) -> tuple[CatalogModel, Path | None]:
    """`--name M [--dir D]` of the model commands (check_model, prepare_model): the catalog
    entry and the model folder (default $SFA_MODEL_DIR). An unknown name exits 2 naming the valid ones."""
    import argparse
    import sys
    ap = argparse.ArgumentParser(prog=prog)
    ap.add_argument("--name", required=True)
    ap.add_argument("--dir", type=Path, default=None, help="model directory (default $SFA_MODEL_DIR)")
    args = ap.parse_args(argv)
    catalog = load_catalog()
    entry = catalog.get(args.name)
    if entry is None:
        print(f"unknown model {args.name!r}; expected one of {', '.join(catalog.names)}", file=sys.stderr)
        raise SystemExit(2)
    return entry, args.dir or model_dir_from_env()


@dataclass(frozen=True)
class MissingFiles:
    model: str
    directory: str
    files: list[str]  # e.g. ["htdemucs.yaml", "955717e8-*.th"]

    def message(self) -> str:
        return (
            f"model '{self.model}' is not installed: missing {', '.join(self.files)} "
            f"in {self.directory}. Install it with `npx sfa models download {self.model}` "
            f"(the demucs local repo layout: <sig>-<sha256[:8]>.th checkpoints plus {self.model}.yaml)"
        )


def missing_files(entry: CatalogModel, model_dir: Path | None) -> MissingFiles | None:
    """What is missing for `entry` in `model_dir`; None when everything is there."""
    directory = str(model_dir) if model_dir else "$SFA_MODEL_DIR (unset)"
    wanted_yaml = f"{entry.name}.yaml"
    if model_dir is None or not model_dir.is_dir():
        return MissingFiles(entry.name, directory, [wanted_yaml] + [f"{s}-*.th" for s in entry.members])
    names = {p.name for p in model_dir.iterdir()}
    missing = [] if wanted_yaml in names else [wanted_yaml]
    for sig in entry.members:
        # demucs also accepts a bare `<sig>.th` (no checksum in the name).
        if f"{sig}.th" not in names and not any(n.startswith(f"{sig}-") and n.endswith(".th") for n in names):
            missing.append(f"{sig}-*.th")
    return MissingFiles(entry.name, directory, missing) if missing else None


def load_demucs_model(entry: CatalogModel, model_dir: Path | None):
    """Load through demucs' own repo code; raises EngineError(model_missing)."""
    missing = missing_files(entry, model_dir)
    if missing:
        raise EngineError("model_missing", missing.message(),
                          {"model": missing.model, "directory": missing.directory, "files": missing.files})
    from demucs.pretrained import get_model
    from demucs.repo import ModelLoadingError
    try:
        model = get_model(entry.name, repo=Path(model_dir))
    except ModelLoadingError as exc:  # e.g. checksum mismatch, unknown signature
        raise EngineError("model_missing", f"model '{entry.name}' in {model_dir} could not be loaded: {exc}") from exc
    except SystemExit as exc:  # demucs.utils.fatal() exits on some errors
        raise EngineError("model_missing", f"model '{entry.name}' in {model_dir} could not be loaded ({exc})") from exc
    if list(model.sources) != list(entry.stems):
        raise EngineError("model_missing",
                          f"model '{entry.name}' in {model_dir} has sources {list(model.sources)}, "
                          f"the catalog says {list(entry.stems)}")
    model.eval()
    return model


def model_bytes(model) -> int:
    return sum(p.numel() * p.element_size() for p in model.parameters()) + \
        sum(b.numel() * b.element_size() for b in model.buffers())


class ModelCache:
    """LRU of loaded models bounded by a memory budget (SFA_ENGINE_MODEL_BUDGET_MB).

    The most recently used model is always kept, even if it alone exceeds the
    budget: evicting it would only force a reload for the very next request.
    """

    def __init__(self, model_dir: Path | None, device: str, budget_bytes: int | None = None, runtime=None,
                 backend_note: str | None = None):
        self.model_dir = model_dir
        self.device = device
        self.runtime = runtime  # an OpenVinoRuntime, or None for torch
        self.backend_note = backend_note  # why torch when OpenVINO was wanted
        if budget_bytes is None:
            budget_bytes = int(float(os.environ.get("SFA_ENGINE_MODEL_BUDGET_MB", DEFAULT_BUDGET_MB)) * 2**20)
        self.budget_bytes = budget_bytes
        self._models: OrderedDict[str, tuple[object, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, entry: CatalogModel, progress=None):
        """The loaded model, its networks compiled for the backend; `model.sfa_backend`
        says which backend and precision run it. `progress(value, stage)` hears about
        a conversion ("preparing model for this CPU")."""
        with self._lock:
            if entry.name in self._models:
                self._models.move_to_end(entry.name)
                return self._models[entry.name][0]
        model = load_demucs_model(entry, self.model_dir)
        model.to(self.device)
        from .openvino_backend import BackendInfo
        if self.runtime is not None:
            model.sfa_backend = self.runtime.install(model, entry.name, progress)
        else:
            model.sfa_backend = BackendInfo("torch", "f32", self.backend_note)
        size = model_bytes(model)
        with self._lock:
            self._models[entry.name] = (model, size)
            self._models.move_to_end(entry.name)
            self._evict()
        log.info("loaded model %s (%.1f MB) on %s, backend %s %s", entry.name, size / 2**20, self.device,
                 model.sfa_backend.backend, model.sfa_backend.precision)
        return model

    def _evict(self) -> None:
        while len(self._models) > 1 and sum(s for _, s in self._models.values()) > self.budget_bytes:
            name, _ = self._models.popitem(last=False)
            log.info("evicted model %s (memory budget %d MB)", name, self.budget_bytes // 2**20)

    def loaded(self) -> list[str]:
        with self._lock:
            return list(self._models)


def pick_device(setting: str | None = None) -> str:
    """SFA_DEVICE: auto (cuda if available) | cpu | cuda."""
    import torch
    setting = (setting or os.environ.get("SFA_DEVICE") or "auto").lower()
    if setting not in ("auto", "cpu", "cuda"):
        raise ValueError(f"SFA_DEVICE must be auto, cpu or cuda, not {setting!r}")
    if setting == "cpu":
        return "cpu"
    if torch.cuda.is_available():
        return "cuda"
    if setting == "cuda":
        log.warning("SFA_DEVICE=cuda but CUDA is not available; using cpu")
    return "cpu"


def pick_backend(device: str):
    """(OpenVinoRuntime or None, note) from SFA_SEPARATION_BACKEND / SFA_INFERENCE_PRECISION /
    SFA_OPENVINO_THREADS / SFA_OPENVINO_WINDOWS / SFA_CACHE_DIR. Raises ValueError on a bad setting (the engine refuses to start)."""
    from .backend_choice import BACKENDS, PRECISIONS, choose_backend, parse_setting
    backend = parse_setting("SFA_SEPARATION_BACKEND", os.environ.get("SFA_SEPARATION_BACKEND"), BACKENDS)
    precision = parse_setting("SFA_INFERENCE_PRECISION", os.environ.get("SFA_INFERENCE_PRECISION"), PRECISIONS)
    from .openvino_backend import OpenVinoRuntime, default_cache_dir, openvino_import_error
    choice = choose_backend(backend, device, openvino_import_error() if backend != "torch" else None)
    if choice.note:
        log.warning("%s", choice.note)
    if choice.value == "torch":
        return None, choice.note
    threads = int(os.environ.get("SFA_OPENVINO_THREADS") or 0) or None
    windows = parse_setting("SFA_OPENVINO_WINDOWS", os.environ.get("SFA_OPENVINO_WINDOWS"), ("auto", "1", "2"))
    return OpenVinoRuntime(default_cache_dir(), precision, threads,
                           windows=None if windows == "auto" else int(windows)), choice.note
