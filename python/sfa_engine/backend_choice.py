"""Which inference backend and precision a separation runs with (pure decisions).

SFA_SEPARATION_BACKEND=auto|openvino|torch: `auto` is OpenVINO on CPU and torch
on CUDA. SFA_INFERENCE_PRECISION=auto|bf16|f32: `auto` is bf16 where OpenVINO
reports native bf16 for this CPU, else f32. Everything here is a pure function
of its arguments so every combination is tested without the hardware.
"""
from __future__ import annotations

from dataclasses import dataclass

BACKENDS = ("auto", "openvino", "torch")
PRECISIONS = ("auto", "bf16", "f32")


@dataclass(frozen=True)
class Choice:
    value: str
    note: str | None = None  # why the setting was not followed as written (logged / shown)


def parse_setting(name: str, value: str | None, allowed: tuple[str, ...]) -> str:
    value = (value or "auto").strip().lower()
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def choose_backend(setting: str, device: str, openvino_error: str | None) -> Choice:
    """`openvino_error` is why `import openvino` failed, None when it works."""
    if setting == "torch":
        return Choice("torch")
    if setting == "auto" and device != "cpu":
        return Choice("torch")  # a GPU runs torch; OpenVINO here is a CPU backend
    if openvino_error is not None:
        return Choice("torch", f"OpenVINO is not available ({openvino_error}); separating with torch")
    if device != "cpu":
        return Choice("openvino", f"SFA_SEPARATION_BACKEND=openvino runs on the CPU, not {device}")
    return Choice("openvino")


def choose_precision(setting: str, native_bf16: bool) -> Choice:
    if setting == "f32":
        return Choice("f32")
    if native_bf16:
        return Choice("bf16")
    if setting == "bf16":
        return Choice("f32", "bf16 was requested but this CPU has no native bf16 "
                             "(OpenVINO would emulate it, slower than f32); using f32")
    return Choice("f32")


def has_native_bf16(capabilities: list[str]) -> bool:
    """OpenVINO's CPU plugin lists BF16 in OPTIMIZATION_CAPABILITIES only with
    hardware support (avx512_bf16, AMX)."""
    return "BF16" in capabilities
