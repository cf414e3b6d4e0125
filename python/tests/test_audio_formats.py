"""The engine opens only allowed audio containers and codecs (catalog/audio_formats.json).

A playlist, concat list or manifest disguised as audio (any extension) is
refused by probe, by the analysis decoder and by separation, before any file it
names is read; the ffmpeg runs carry the protocol and format whitelists.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import PYTHON_DIR, ffmpeg
from sfa_engine import audio_formats, audio_io
from sfa_engine.analysis_decode import load_mono
from sfa_engine.errors import EngineError

EXTENSIONS = ["mp3", "wav", "flac", "ogg", "m4a", "opus", "webm", "aiff"]


@pytest.fixture(scope="module")
def secret(tmp_path_factory) -> Path:
    """A private local file an attacker would like to read through a playlist."""
    d = tmp_path_factory.mktemp("secret")
    out = d / "secret.mp3"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=3", str(out))
    return out


def indirections(secret: Path) -> dict[str, str]:
    return {
        "hls": f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n{secret}\n#EXT-X-ENDLIST\n",
        "concat": f"ffconcat version 1.0\nfile {secret.name}\n",
    }


@pytest.mark.parametrize("ext", EXTENSIONS)
@pytest.mark.parametrize("kind", ["hls", "concat"])
def test_probe_refuses_playlists_in_every_extension(tmp_path, secret, ext, kind):
    f = secret.parent / f"disguised-{kind}.{ext}"  # next to the secret: a relative concat entry resolves
    f.write_text(indirections(secret)[kind])
    with pytest.raises(EngineError) as err:
        audio_io.probe(str(f))
    assert err.value.code == "unsupported_audio"
    assert ("an HLS playlist" if kind == "hls" else "a concat list") in str(err.value)


def test_analysis_and_separation_refuse_an_hls_playlist(tmp_path, secret):
    f = tmp_path / "my-song.mp3"
    f.write_text(indirections(secret)["hls"])
    with pytest.raises(EngineError) as err:
        load_mono(str(f), 22050)
    assert err.value.code == "unsupported_audio"
    # The decoder alone (no probe first) is bound by the same whitelist.
    with pytest.raises(EngineError) as err:
        list(audio_io.decode_blocks(str(f), 44100))
    assert err.value.code == "unsupported_audio"
    assert "an HLS playlist" in str(err.value)


def test_the_secret_itself_is_fine(secret):
    assert audio_io.probe(str(secret)).codec == "mp3"


@pytest.mark.parametrize("ext,codec_args", [("wav", []), ("mp3", []), ("flac", []), ("ogg", []), ("opus", ["-c:a", "libopus"]),
                                            ("m4a", ["-c:a", "aac"]), ("webm", ["-c:a", "libopus"]), ("aiff", []),
                                            ("mka", []), ("wv", []), ("caf", [])])
def test_allowed_formats_probe_and_decode(tmp_path, ext, codec_args):
    f = tmp_path / f"tone.{ext}"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=330:duration=1.5", *codec_args, str(f))
    assert audio_io.probe(str(f)).duration == pytest.approx(1.5, abs=0.1)
    assert len(load_mono(str(f), 22050)) == pytest.approx(1.5 * 22050, rel=0.05)


def test_a_file_named_with_a_leading_dash_or_colon_is_read_as_a_file(tmp_path):
    f = tmp_path / "-i:http:x.wav"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=330:duration=1", "-f", "wav", "file:" + str(f))
    assert audio_io.probe(str(f)).codec == "pcm_s16le"


def test_refused_names_a_container_or_codec_not_listed():
    assert audio_formats.refused("mov,mp4,m4a,3gp,3g2,mj2", "aac") is None
    assert audio_formats.refused("hls", "mp3") == "hls"
    assert audio_formats.refused("wav", "adpcm_ima_wav") == "wav with adpcm_ima_wav audio"
    assert audio_formats.refused(None, None) == "unknown"


def test_the_list_is_the_one_typescript_reads():
    shared = json.loads((PYTHON_DIR.parent / "catalog" / "audio_formats.json").read_text())
    assert list(audio_formats.formats().demuxers) == shared["demuxers"]
    guard = audio_formats.input_guard()
    assert guard[:2] == ["-protocol_whitelist", "file,pipe"]
    assert guard[3] == ",".join(shared["demuxers"])


def test_folders_fifos_and_devices_are_bad_input(tmp_path):
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    for path, what in [(tmp_path, "a folder"), (fifo, "not a regular file"), (Path("/dev/zero"), "not a regular file")]:
        with pytest.raises(EngineError) as err:
            audio_io.probe(str(path))
        assert err.value.code == "bad_input"
        assert what in str(err.value)


def test_an_unreadable_file_says_permission_denied():
    # pytest's tmp_path lies under a 0700 folder; nobody must be able to reach the file.
    folder = Path(tempfile.mkdtemp(prefix="sfa-noperm-", dir="/tmp"))
    folder.chmod(0o755)
    f = folder / "private.wav"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=330:duration=1", str(f))
    f.chmod(0o000)
    # Root reads anything: the engine runs as an ordinary user (nobody) for this check.
    code = ("import sys; from sfa_engine import audio_io\n"
            "try:\n    audio_io.probe(sys.argv[1])\nexcept Exception as e:\n    print(e.code, e)\n")
    out = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", code, str(f)],
                         cwd=PYTHON_DIR, capture_output=True, text=True, timeout=60)
    shutil.rmtree(folder)
    assert out.stdout.strip() == "bad_input cannot read the file private.wav (permission denied)", out.stderr
