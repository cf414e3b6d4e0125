"""`python -m sfa_engine`: run the JSON-lines engine server."""
import sys

from .allocator import ensure_allocator

if __name__ == "__main__":
    ensure_allocator(sys.argv[1:])  # before torch is imported; see allocator.py
    from .server import main
    raise SystemExit(main())
