"""stem-forge engine: a long-lived process that separates stems (Demucs) and
analyses audio (librosa), speaking JSON lines on stdin/stdout.

See docs/engine-protocol.md for the contract.
"""

__version__ = "0.1.0"
