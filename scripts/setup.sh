#!/usr/bin/env bash
# One idempotent command from a fresh machine to ready: Node 22 (as an npm
# devDependency), npm packages, Debian packages, the Python engine venv and a
# warm numba cache. Prints each step; fails loudly on the first error.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
step() { printf '\n==> %s\n' "$*"; }
fail() { printf '\nsetup failed: %s\n' "$*" >&2; exit 1; }

step "npm packages exactly as package-lock.json pins them (brings Node 22 into node_modules/.bin)"
# npm ci installs the committed lock file as it is (npm install may rewrite it) and
# starts from an empty node_modules, so it only runs when the lock file changed.
npm_stamp="node_modules/.package-lock.sha256"
npm_want=$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)
if [ "$(cat "$npm_stamp" 2>/dev/null)" != "$npm_want" ] || [ ! -x node_modules/.bin/node ]; then
  npm ci --no-audit --no-fund --loglevel=error || fail "npm ci failed (is package-lock.json in step with package.json? 'npm install' updates it)"
  echo "$npm_want" > "$npm_stamp"
else
  echo "up to date"
fi
NODE_BIN="$ROOT/node_modules/.bin/node"
node_version=$("$NODE_BIN" --version) || fail "node_modules/.bin/node does not run"
case "$node_version" in
  v22.1[89].*|v22.[2-9][0-9].*|v23.[6-9].*|v23.1[0-9].*|v2[4-9].*) echo "node $node_version (used by every npm script)";;
  *) fail "expected Node >= 22.18 (runs the TypeScript sources itself) in node_modules/.bin, got $node_version";;
esac

step "Debian packages: ffmpeg (decoding/encoding), jemalloc (engine allocator), fluidsynth + GM soundfont (test music), chromium (stem player browser tests)"
missing=()
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || missing+=(ffmpeg)
command -v fluidsynth >/dev/null || missing+=(fluidsynth)
[ -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ] || missing+=(fluid-soundfont-gm)
ldconfig -p | grep -q "libjemalloc.so.2 " || missing+=(libjemalloc2)
command -v chromium >/dev/null || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then fail "missing ${missing[*]}: run 'sudo apt-get install -y ${missing[*]}' and re-run setup"; fi
  echo "installing ${missing[*]}"
  apt-get update -q >/dev/null || fail "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null || fail "apt-get install ${missing[*]} failed"
else
  echo "already present"
fi

step "Python engine venv (python/.venv) with pinned python/requirements.txt"
PY=${PYTHON:-python3}
VENV="$ROOT/python/.venv"
"$PY" -c 'import sys; assert sys.version_info >= (3, 10), sys.version' || fail "need Python >= 3.10 ($PY)"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV" || fail "could not create $VENV"
stamp="$VENV/.requirements.sha256"
want=$(sha256sum python/requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$VENV/bin/python" -m pip install -q --upgrade pip || fail "pip upgrade failed"
  "$VENV/bin/python" -m pip install -q -r python/requirements.txt || fail "pip install -r python/requirements.txt failed"
  echo "$want" > "$stamp"
  echo "installed"
else
  echo "up to date"
fi
"$VENV/bin/python" -c 'import torch, demucs, librosa, soundfile; print(f"torch {torch.__version__}, demucs {demucs.__version__}, librosa {librosa.__version__}")' \
  || fail "the venv does not import torch/demucs/librosa"

step "numba cache (librosa's beat/onset code compiled once, reused by every engine)"
export NUMBA_CACHE_DIR="$ROOT/.cache/numba"
mkdir -p "$NUMBA_CACHE_DIR"
if [ -f python/sfa_engine/warm_numba.py ]; then
  (cd python && "$VENV/bin/python" -m sfa_engine.warm_numba) || fail "warming the numba cache failed"
fi
echo "cache at $NUMBA_CACHE_DIR"

step "ready: 'npm test' runs the tests, 'npm start' the bot, 'npx sfa --help' the CLI"
