#!/usr/bin/env bash
# The machine-level set-up `npm test` needs, run by its `pretest` hook (so `npm install && npm test`
# on a fresh clone does it all, and .ci/run is only those two commands):
# - Debian packages: chromium (the browser tests drive it with playwright-core; no browser
#   download), cmake, make and g++ (aws-lambda-ric's native build in `npm run check:infra`),
#   unzip (the synthesized code.zip files), python3 with venv (the Python SSE client recipes),
#   varnish (the CDN in front of the long-poll route: test/e2e/long-poll-cdn.test.ts, the benchmark);
# - .venv with the Python packages pinned in test/clients/requirements.txt.
# Missing packages are installed when this user may install them (root, or sudo without a
# password); otherwise it stops at once and prints the exact command to run.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
# Where the browser tests look for it (test/support/chromium.ts): CHROMIUM_PATH, else Debian's.
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || missing+=(chromium)
for tool in cmake make g++ unzip python3; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
# Debian puts varnishd in /usr/sbin, which is often not on a user's PATH (local/cdn/varnish.ts looks there).
[ -x "${VARNISHD:-/usr/sbin/varnishd}" ] || command -v varnishd >/dev/null 2>&1 || missing+=(varnish)
# Debian ships ensurepip, which `python3 -m venv` needs, in python3-venv.
if command -v python3 >/dev/null 2>&1 && ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  missing+=(python3-venv)
fi

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    SUDO=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "npm test needs Debian packages that are missing here: ${missing[*]}" >&2
    echo "Install them, then run npm test again:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]} (apt-get)" >&2
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The Python recipes' virtual environment: made again when it no longer runs (its Python was
# removed or upgraded); packages installed again only when requirements.txt changed.
requirements=test/clients/requirements.txt
stamp=.venv/.requirements.sha256
.venv/bin/python -m pip --version >/dev/null 2>&1 || python3 -m venv --clear .venv
want="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  # One retry per index: on a machine without internet (only a local package index) pip would
  # otherwise back off five times per package against pypi.org before using the local index.
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --retries 1 -r "$requirements"
  echo "$want" >"$stamp"
fi
