"""The one exception type that crosses the protocol boundary.

Any module (separation, analysis) raises `EngineError(code, message)`; the
server turns it into an `error` message. Anything else becomes `internal`.
"""

ERROR_CODES = (
    "bad_input",
    "unsupported_audio",
    "too_long",
    "model_missing",
    "out_of_memory",
    "cancelled",
    "internal",
)


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
