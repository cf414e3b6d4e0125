"""Write randomly initialised Demucs checkpoints in the real local-repo layout.

    python -m sfa_engine.make_test_model --name htdemucs --size tiny --dir D

Produces `<sig>-<sha256[:8]>.th` for every catalog member (a torch.save'd dict
klass/args/kwargs/state with a float16 state, as `demucs.states.load_model`
reads and as the published files are) plus `<name>.yaml`, so that
`demucs.pretrained.get_model(name, repo=D)` loads it exactly like real weights.
Weights are random (seeded, deterministic): separation quality is meaningless,
compute cost and memory are realistic for `--size full`.

Architectures (checked against demucs 4.1.0's remote/*.yaml and published sizes):
- htdemucs, htdemucs_6s, htdemucs_ft: HTDemucs (v4). htdemucs_ft is a bag of 4
  with one-hot weights per source, as in demucs' htdemucs_ft.yaml.
- mdx_extra: bag of 4 HDemucs (v3 hybrid) with `segment: 44`. The published
  members are 167.4 MB each = 83.6 M float16 params, exactly HDemucs' default
  hyper-parameters, so full size uses those.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import sys
from fractions import Fraction
from pathlib import Path

from .catalog import CatalogModel, load_catalog

HTDEMUCS_FULL = dict(channels=48, growth=2, nfft=4096, depth=4, dconv_mode=3, bottom_channels=512,
                     t_layers=5, t_heads=8, t_hidden_scale=4.0)
HTDEMUCS_TINY = dict(channels=8, growth=2, nfft=4096, depth=4, t_layers=1, t_heads=2, t_hidden_scale=1.0)
HDEMUCS_FULL: dict = {}  # HDemucs defaults = the published mdx_extra members
HDEMUCS_TINY = dict(channels=4)

# Per-model architecture and bag yaml extras (what demucs' own remote yaml has).
ARCH = {
    "htdemucs": ("htdemucs", {}),
    "htdemucs_6s": ("htdemucs", {}),
    "htdemucs_ft": ("htdemucs", {"one_hot_weights": True}),
    "mdx_extra": ("hdemucs", {"segment": 44}),
}


def _build_network(arch: str, size: str, sources: list[str]):
    if arch == "htdemucs":
        from demucs.htdemucs import HTDemucs
        kwargs = dict(HTDEMUCS_FULL if size == "full" else HTDEMUCS_TINY)
        # 39/5 s is htdemucs' training segment; a Fraction keeps int(sr*segment) exact.
        kwargs.update(sources=list(sources), audio_channels=2, samplerate=44100, segment=Fraction(39, 5))
        return HTDemucs, kwargs
    from demucs.hdemucs import HDemucs
    kwargs = dict(HDEMUCS_FULL if size == "full" else HDEMUCS_TINY)
    kwargs.update(sources=list(sources), audio_channels=2, samplerate=44100, segment=44)
    return HDemucs, kwargs


def checkpoint_bytes(arch: str, size: str, sources: list[str], seed: int) -> bytes:
    import torch
    klass, kwargs = _build_network(arch, size, sources)
    torch.manual_seed(seed)
    model = klass(**kwargs)
    state = {k: v.detach().to(dtype=torch.half) if v.is_floating_point() else v.detach()
             for k, v in model.state_dict().items()}
    package = {"klass": klass, "args": [], "kwargs": kwargs, "state": state}
    buf = io.BytesIO()
    torch.save(package, buf)
    return buf.getvalue()


def _seed_for(sig: str, base_seed: int) -> int:
    return (int(sig, 16) ^ base_seed) & 0x7FFFFFFF


def bag_yaml(entry: CatalogModel, extras: dict) -> str:
    lines = [f"models: [{', '.join(repr(s) for s in entry.members)}]"]
    if extras.get("one_hot_weights"):
        rows = ["  [" + ", ".join("1." if j == i else "0." for j in range(len(entry.stems))) + "],"
                for i in range(len(entry.members))]
        lines += ["weights: ["] + rows + ["]"]
    if "segment" in extras:
        lines.append(f"segment: {extras['segment']}")
    return "\n".join(lines) + "\n"


def make_test_model(name: str, size: str, directory: Path, seed: int = 0) -> list[Path]:
    """Write the files for catalog model `name`; returns the paths written."""
    entry = load_catalog().get(name)
    if entry is None:
        raise ValueError(f"unknown model {name!r}; catalog has {', '.join(load_catalog().names)}")
    if size not in ("tiny", "full"):
        raise ValueError("size must be tiny or full")
    arch, extras = ARCH[name]
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for sig in entry.members:
        data = checkpoint_bytes(arch, size, list(entry.stems), _seed_for(sig, seed))
        digest = hashlib.sha256(data).hexdigest()[:8]
        # demucs refuses two files with the same signature: replace an older one.
        for old in directory.glob(f"{sig}-*.th"):
            old.unlink()
        path = directory / f"{sig}-{digest}.th"
        tmp = directory / f".{path.name}.part"
        tmp.write_bytes(data)
        tmp.replace(path)
        written.append(path)
    yaml_path = directory / f"{name}.yaml"
    yaml_path.write_text(bag_yaml(entry, extras), encoding="utf-8")
    written.append(yaml_path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sfa_engine.make_test_model",
                                     description="Write a randomly initialised Demucs model (for tests/benchmarks).")
    parser.add_argument("--name", required=True, help="catalog model name, or 'all'")
    parser.add_argument("--size", choices=("tiny", "full"), default="tiny")
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    names = load_catalog().names if args.name == "all" else [args.name]
    try:
        for name in names:
            for path in make_test_model(name, args.size, args.dir, args.seed):
                print(path)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
