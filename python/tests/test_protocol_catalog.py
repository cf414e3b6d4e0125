"""catalog/engine_protocol.json is the one list of the engine's command names,
message types and error codes (tests/engine/protocolCatalog.test.ts checks the
TypeScript side): every command parses and has a handler, every message the
engine builds is listed, and every error code the engine's code can raise is
in the file."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sfa_engine import protocol, protocol_catalog, server
from sfa_engine.errors import ERROR_CODES, EngineError

PACKAGE = Path(protocol.__file__).resolve().parent
CATALOG = json.loads((PACKAGE.parents[1] / "catalog" / "engine_protocol.json").read_text(encoding="utf-8"))

# One minimal valid request per command.
SAMPLES = {
    "ping": {},
    "cancel": {"target": "r0"},
    "separate": {"input": "/in.wav", "out_dir": "/out", "model": "htdemucs"},
    "analyze": {"input": "/in.wav"},
}


def test_the_engine_reads_the_shared_file():
    assert protocol_catalog.COMMANDS == CATALOG["commands"]
    assert protocol_catalog.EVENTS == CATALOG["events"]
    assert set(protocol.COMMANDS) == set(CATALOG["commands"])
    assert set(ERROR_CODES) == set(CATALOG["errors"])


@pytest.mark.parametrize("cmd", sorted(CATALOG["commands"]))
def test_every_command_parses_and_has_a_handler(cmd):
    req = protocol.parse_request(json.dumps({"id": "r1", "cmd": cmd, **SAMPLES[cmd]}))
    assert req.cmd == cmd
    handled = re.findall(r'req\.cmd == "([a-z_]+)"', Path(server.__file__).read_text(encoding="utf-8"))
    # ping and cancel are answered on the reading thread; the others are queued, each by its body's type.
    bodies = {"separate": protocol.SeparateRequest, "analyze": protocol.AnalyzeRequest}
    assert cmd in handled or isinstance(req.body, bodies[cmd])


def test_a_command_outside_the_file_is_refused():
    with pytest.raises(protocol.BadRequest):
        protocol.parse_request(json.dumps({"id": "r1", "cmd": "reboot"}))


def test_every_message_the_engine_builds_is_listed():
    built = {
        protocol.ready_message("1", "cpu")["type"],
        protocol.progress_message("r1", 1, "x")["type"],
        protocol.result_message("r1", {})["type"],
        protocol.error_message("r1", "internal", "x")["type"],
    }
    assert built == set(CATALOG["events"])


def test_every_error_code_the_engine_raises_is_listed():
    pattern = re.compile(r'(?:EngineError\(|error_message\([^,()]+,\s*|super\(\).__init__\()\s*"([a-z_]+)"')
    raised = set()
    for source in PACKAGE.glob("*.py"):
        raised |= set(pattern.findall(source.read_text(encoding="utf-8")))
    assert "model_missing" in raised and "bad_input" in raised  # the scan itself works
    assert raised <= set(CATALOG["errors"]), raised - set(CATALOG["errors"])
    with pytest.raises(ValueError):
        EngineError("not_in_the_catalog", "x")
