"""Reads catalog/models.json, the model catalog shared with the TypeScript side.

Path: env SFA_CATALOG, else <repo>/catalog/models.json relative to this package.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from . import REPO_ROOT

DEFAULT_CATALOG_PATH = REPO_ROOT / "catalog" / "models.json"


@dataclass(frozen=True)
class CatalogModel:
    name: str
    stems: tuple[str, ...]
    members: tuple[str, ...]
    relative_cost: float
    label: str


@dataclass(frozen=True)
class Catalog:
    default: str
    models: tuple[CatalogModel, ...]

    def get(self, name: str) -> CatalogModel | None:
        return next((m for m in self.models if m.name == name), None)

    @property
    def names(self) -> list[str]:
        return [m.name for m in self.models]


def catalog_path() -> Path:
    return Path(os.environ.get("SFA_CATALOG") or DEFAULT_CATALOG_PATH)


@lru_cache(maxsize=4)
def _load(path: str) -> Catalog:
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    models = tuple(
        CatalogModel(
            name=m["name"],
            stems=tuple(m["stems"]),
            members=tuple(m["members"]),
            relative_cost=float(m["relativeCost"]),
            label=m.get("label", m["name"]),
        )
        for m in raw["models"]
    )
    return Catalog(default=raw["default"], models=models)


def load_catalog(path: str | Path | None = None) -> Catalog:
    return _load(str(path or catalog_path()))
