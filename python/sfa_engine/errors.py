"""The one exception type that crosses the protocol boundary.

Any module (separation, analysis) raises `EngineError(code, message)`; the
server turns it into an `error` message. Anything else becomes `internal`.
"""

from .protocol_catalog import ERRORS

# The codes and their meaning are listed in catalog/engine_protocol.json.
ERROR_CODES = tuple(ERRORS)


class EngineError(Exception):
    def __init__(self, code: str, message: str, details: dict | None = None):
        if code not in ERROR_CODES:
            raise ValueError(f"unknown engine error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        # Optional machine-readable extras (e.g. the missing model files).
        self.details = details or {}


class Cancelled(EngineError):
    def __init__(self, message: str = "cancelled by request"):
        super().__init__("cancelled", message)
