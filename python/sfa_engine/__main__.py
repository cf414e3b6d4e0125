"""`python -m sfa_engine`: run the JSON-lines engine server."""
import logging
import os
import sys

from .allocator import ensure_allocator

if __name__ == "__main__":
    ensure_allocator(sys.argv[1:])  # before torch is imported; see allocator.py
    from .server import main
    code = main()
    # Every answer is written and flushed by now. Skip the interpreter's teardown,
    # which with torch, numba and librosa loaded costs ~0.3 s that a caller waits for.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
