"""stem-forge engine: a long-lived process that separates stems (Demucs) and
analyses audio (librosa), speaking JSON lines on stdin/stdout.

See docs/engine-protocol.md for the contract.
"""

from pathlib import Path

__version__ = "0.1.0"

# The repository the engine runs from: catalog/ (shared with the TypeScript side) and .cache/ live there.
REPO_ROOT = Path(__file__).resolve().parents[2]
