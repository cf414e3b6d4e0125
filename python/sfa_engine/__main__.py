"""`python -m sfa_engine`: run the JSON-lines engine server."""
from .server import main

if __name__ == "__main__":
    raise SystemExit(main())
