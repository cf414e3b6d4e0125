"""The overview picture sent with the analysis DM.

Two panels sharing the time axis:

* top: waveform envelope (grey), RMS energy curve (blue), beat grid (bar
  lines every 4 beats across the panel, fewer on long tracks; beat ticks
  along the bottom);
* bottom: chromagram (pitch class over time, C at the bottom), with the
  tonic's row marked.

The title gives BPM (with its half/double alternatives), key with Camelot
code, energy and duration. 1100 x 560 px; typically 60-150 KB.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

from .analysis_key import PITCH_CLASSES

WIDTH_IN, HEIGHT_IN, DPI = 11.0, 5.6, 100
ENVELOPE_COLUMNS = 1500  # waveform min/max buckets: more than the panel's pixels
CHROMA_COLUMNS = 600  # time columns of the drawn chromagram
RMS_POINTS = 400  # points of the drawn RMS curve


def render_overview(path, y, sr, rms, hop_length, chroma=None, tempo=None, key=None, energy=None) -> str:
    """Draw the overview of one track into the PNG file ``path``.

    Parameters
    ----------
    y : np.ndarray
        Mono signal.
    rms : np.ndarray
        Frame RMS of ``y`` (hop ``hop_length``).
    chroma : np.ndarray or None
        Chromagram (12 x frames); the lower panel is left out when None.
    tempo : analysis_tempo.TempoEstimate or None
    key : analysis_key.KeyEstimate or None
    energy : float or None
        The 0..1 energy level, shown in the title.

    Returns
    -------
    str
        ``path``, written to a temporary file in the same directory and renamed.
    """
    # A bare Figure on the Agg canvas: no pyplot, no global state, no display.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    duration = len(y) / sr
    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    if chroma is not None:
        ax_wave, ax_chroma = fig.subplots(2, 1, sharex=True, height_ratios=[1.0, 1.0])
    else:
        ax_wave, ax_chroma = fig.subplots(1, 1), None

    _draw_waveform(ax_wave, y, sr, rms, hop_length, duration)
    if tempo is not None and len(tempo.beat_times):
        _draw_beat_grid(ax_wave, tempo.beat_times)
    if ax_chroma is not None:
        _draw_chroma(ax_chroma, chroma * _loudness_weight(rms)[: chroma.shape[1]], duration, key)
        ax_chroma.set_xlabel("time")
    else:
        ax_wave.set_xlabel("time")
    _format_time_axis(ax_chroma or ax_wave, duration)
    fig.suptitle(overview_title(tempo, key, energy, duration), fontsize=13, fontweight="bold")

    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".overview-", suffix=".png.part", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            fig.savefig(f, format="png", dpi=DPI)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; the bot may run as another user
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def overview_title(tempo, key, energy, duration: float) -> str:
    """``"128 BPM (64 / 256) · A minor (8A) · energy 0.82 · 3:45"``; unknown parts left out."""
    parts = []
    if tempo is not None and tempo.bpm is not None:
        alternatives = " / ".join(f"{a['bpm']:.0f}" for a in tempo.alternatives)
        parts.append(f"{tempo.bpm:.1f} BPM" + (f" ({alternatives})" if alternatives else ""))
    elif tempo is not None:
        parts.append("no steady beat")
    if key is not None and key.name is not None:
        parts.append(f"{key.name} ({key.camelot})")
    elif key is not None:
        parts.append("no clear key")
    if energy is not None:
        parts.append(f"energy {energy:.2f}")
    minutes, seconds = divmod(int(round(duration)), 60)
    parts.append(f"{minutes}:{seconds:02d}")
    return "  \u00b7  ".join(parts)


def _draw_waveform(ax, y, sr, rms, hop_length, duration) -> None:
    lo, hi, times = _envelope(y, sr, ENVELOPE_COLUMNS)
    ax.fill_between(times, lo, hi, color="0.72", linewidth=0, label="waveform")
    # Bucket means: frame-rate RMS of a long track draws as a solid band.
    curve = _downsample_columns(rms[None, :], RMS_POINTS)[0]
    rms_times = np.linspace(0, len(rms) * hop_length / sr, len(curve), endpoint=False)
    ax.plot(rms_times, curve, color="tab:blue", linewidth=1.2, label="RMS energy")
    ax.plot(rms_times, -curve, color="tab:blue", linewidth=1.2)
    top = max(float(np.max(np.abs(y))) if len(y) else 0.0, 1e-3) * 1.05
    ax.set_ylim(-top, top)
    ax.set_xlim(0, max(duration, 1e-3))
    ax.set_yticks([])
    ax.set_ylabel("waveform / RMS")
    ax.legend(loc="upper right", fontsize=8, framealpha=0.8)


def _envelope(y: np.ndarray, sr: int, columns: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Min and max of ``y`` per time bucket, for drawing long signals."""
    if len(y) <= columns:
        times = np.arange(len(y)) / sr
        return y, y, times
    edges = np.linspace(0, len(y), columns + 1).astype(int)
    lo = np.minimum.reduceat(y, edges[:-1])
    hi = np.maximum.reduceat(y, edges[:-1])
    return lo, hi, edges[:-1] / sr


MAX_GRID_LINES = 48  # more full-height lines than this turn the panel into a hatch
MAX_BEAT_TICKS = 160  # likewise for the per-beat ticks along the bottom


def _draw_beat_grid(ax, beat_times: np.ndarray) -> None:
    """Bar lines (every 4 beats, or every 8/16/... on long tracks) and beat ticks.

    The downbeat is not known, so "bars" start at the first tracked beat.
    """
    step = 4
    while len(beat_times) / step > MAX_GRID_LINES:
        step *= 2
    for t in beat_times[::step]:
        ax.axvline(t, color="tab:red", alpha=0.35, linewidth=0.8)
    if len(beat_times) <= MAX_BEAT_TICKS:
        bottom = ax.get_ylim()[0]
        height = 0.08 * (ax.get_ylim()[1] - bottom)
        ax.vlines(beat_times, bottom, bottom + height, color="tab:red", linewidth=0.8)


def _draw_chroma(ax, chroma: np.ndarray, duration: float, key) -> None:
    drawn = _downsample_columns(chroma, CHROMA_COLUMNS)
    ax.imshow(drawn, aspect="auto", origin="lower", cmap="magma", interpolation="nearest",
              extent=(0, max(duration, 1e-3), -0.5, 11.5), vmin=0.0, vmax=1.0)
    ax.set_yticks(range(12))
    labels = list(PITCH_CLASSES)
    if key is not None and key.tonic is not None:
        labels[key.tonic] = f"\u25b6 {labels[key.tonic]}"  # mark the tonic
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_ylabel("chroma")


def _loudness_weight(rms: np.ndarray, range_db: float = 40.0) -> np.ndarray:
    """0..1 per frame: 1 at the loudest frame, 0 at ``range_db`` below it.

    Chroma frames are normalised to their own maximum, so near-silent frames
    would otherwise draw as bright as the loudest chord.
    """
    loudest = float(rms.max()) if rms.size else 0.0
    if loudest <= 0:
        return np.zeros_like(rms)
    level_db = 20.0 * np.log10(np.maximum(rms, 1e-10) / loudest)
    return np.clip(1.0 + level_db / range_db, 0.0, 1.0)


def _downsample_columns(matrix: np.ndarray, columns: int) -> np.ndarray:
    """Average adjacent frames so a long chromagram has at most ``columns`` columns."""
    if matrix.shape[1] <= columns:
        return matrix
    edges = np.linspace(0, matrix.shape[1], columns + 1).astype(int)
    return np.add.reduceat(matrix, edges[:-1], axis=1) / np.diff(edges)


def _format_time_axis(ax, duration: float) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(nbins=12, steps=[1, 2, 3, 5, 6, 10]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda t, _: f"{int(t // 60)}:{int(t % 60):02d}"))
