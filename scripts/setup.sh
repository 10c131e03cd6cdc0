#!/usr/bin/env bash
# Create .venv and install the pinned requirements (idempotent: skipped when nothing changed).
# Usage: scripts/setup.sh [app|test]
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-app}"

PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
"$PY" - <<'PYCHECK' || { echo "AIGC Studio needs Python 3.11 (set PYTHON=/path/to/python3.11)." >&2; exit 1; }
import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)
PYCHECK

[ -x .venv/bin/python ] || "$PY" -m venv .venv
PIP=(.venv/bin/python -m pip --disable-pip-version-check -q)

# What is installed is the hashed lock files (scripts/lock.sh makes them from the requirements files).
lock=requirements.lock
[ "$what" = test ] && lock=requirements-dev.lock
stamp=".venv/.installed-$what"
sum=$(cat "$lock" requirements-models.lock | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
  echo "Installing the locked requirements into .venv (first run takes a few minutes)…"
  # torch first, on its own: pip takes the CPU wheel from the local wheel store where there is one (a machine
  # with a GPU may install its CUDA build of the same version beforehand); the lock then finds it installed.
  "${PIP[@]}" install "$(grep -m1 -o '^torch==[0-9.]*' "$lock")"
  "${PIP[@]}" install --require-hashes -r "$lock"
  # The model packages are installed without their dependencies (llm/llama-cpp, sentence-transformers):
  # AIGC Studio loads their weights itself.
  "${PIP[@]}" install --no-deps --require-hashes -r requirements-models.lock
  echo "$sum" > "$stamp"
fi

# llama.cpp: built from source for any x86-64 CPU with AVX2 (not -march=native, which crashed on AMX CPUs);
# --no-cache-dir so a wheel built elsewhere with other flags is never reused. Without it the app still works
# (the transformers backend runs the embedded models). Its own stamp: a change of other pins does not rebuild it.
llama_stamp=.venv/.installed-llama
llama_sum=$(sha256sum requirements-llama.lock | cut -d' ' -f1)
if [ "$(cat "$llama_stamp" 2>/dev/null)" != "$llama_sum" ]; then
  echo "Building llama-cpp-python (about 7-10 minutes the first time)…"
  if CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF}" \
    "${PIP[@]}" install --no-deps --no-cache-dir --require-hashes -r requirements-llama.lock; then :
  else
    echo "llama-cpp-python could not be built; the embedded models run on transformers instead" \
      "(rm $llama_stamp to try again)." >&2
  fi
  echo "$llama_sum" > "$llama_stamp"
fi

# llama.cpp's own HF -> GGUF converter (Fine-tune page, Export GGUF) from the same llama-cpp-python source package,
# fetched once per pin: convert_hf_to_gguf.py with its conversion/ package and the gguf-py it is written against
# (newer than the gguf wheel of the same number) into .venv/share/llama.cpp. Its own dependencies: requirements.txt.
conv=.venv/share/llama.cpp
llama_pin=$(grep -m1 -o '^llama-cpp-python==[0-9.]*' requirements-llama.lock || true)
if [ -n "$llama_pin" ] && [ "$(cat "$conv/SOURCE" 2>/dev/null)" != "$llama_pin" ]; then
  echo "Fetching llama.cpp's GGUF converter from the $llama_pin source package…"
  sdist_dir=$(mktemp -d)
  if "${PIP[@]}" download "$llama_pin" --no-deps --no-binary :all: -d "$sdist_dir" >/dev/null 2>&1 \
    && .venv/bin/python scripts/install_gguf_converter.py "$sdist_dir"/llama_cpp_python-*.tar.gz "$conv" "$llama_pin" >/dev/null; then
    echo "GGUF converter installed in $conv."
  else
    echo "Could not fetch llama.cpp's GGUF converter; Export GGUF stays unavailable." >&2
  fi
  rm -rf "$sdist_dir"
fi

if [ "$what" = test ] && ! command -v chromium >/dev/null 2>&1; then
  # The browser test drives Debian's chromium (Playwright's own browser download cannot work offline).
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian's chromium for the browser test…"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk fonts-noto-color-emoji) >/dev/null \
      || echo "Could not install chromium; the browser test will be skipped." >&2
  else
    echo "chromium is not installed (apt-get install chromium); the browser test will be skipped." >&2
  fi
fi
