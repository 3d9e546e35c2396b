#!/usr/bin/env bash
# Make sure the test virtualenv exists and matches the requirement files, that the Debian
# package providing shellcheck is installed (best effort), and that ansible-test can
# bootstrap pip offline.
set -euo pipefail
# shellcheck source=tests/tools/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

find_python() {
    local candidate
    for candidate in "${PYTHON:-}" "python${PYTHON_VERSION}" python3; do
        [[ -n $candidate ]] || continue
        if command -v "$candidate" >/dev/null 2>&1 \
            && "$candidate" -c "import sys, venv, ensurepip; sys.exit(sys.version_info[:2] != tuple(map(int, '${PYTHON_VERSION}'.split('.'))))" >/dev/null 2>&1; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

ensure_venv() {
    local stamp want have python
    stamp=$VENV/.alicloud-ram-requirements.stamp
    want=$(cat "$REPO_ROOT/test-requirements.txt" "$REPO_ROOT/requirements.txt" | cksum | cut -d' ' -f1)
    have=$(cat "$stamp" 2>/dev/null || true)
    if [[ -x $VENV/bin/python && $want == "$have" ]]; then
        return 0
    fi
    if [[ ! -x $VENV/bin/python ]]; then
        python=$(find_python) || die "Python ${PYTHON_VERSION} with venv/ensurepip is required (set PYTHON=...)"
        log "creating virtualenv $VENV with $python"
        "$python" -m venv "$VENV"
    fi
    log "installing test requirements into $VENV"
    "$VENV/bin/python" -m pip install --quiet -r "$REPO_ROOT/test-requirements.txt" -r "$REPO_ROOT/requirements.txt"
    printf '%s\n' "$want" >"$stamp"
}

ensure_shellcheck() {
    command -v shellcheck >/dev/null 2>&1 && return 0
    if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        log "shellcheck not installed; ansible-test skips its shellcheck sanity test"
        return 0
    fi
    log "installing shellcheck with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    if ! { apt-get install -y -qq shellcheck >/dev/null 2>&1 \
        || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq shellcheck >/dev/null 2>&1; }; }; then
        log "could not install shellcheck (continuing without it)"
    fi
    return 0
}

ensure_venv
ensure_shellcheck
install_get_pip "$VENV/bin/python"
