# shellcheck shell=bash
# Shared settings for the scripts in tests/tools/. Source it; do not run it.
#
#   REPO_ROOT  the checkout (collection root)
#   VENV       the test virtualenv (default: $REPO_ROOT/.venv)
#   WORKDIR    scratch space outside the checkout; holds the ansible_collections tree and logs
#   TREE       $WORKDIR/ansible_collections/alicloud/ram (the copy ansible-test works on)

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
VENV=${VENV:-$REPO_ROOT/.venv}
if [[ -z ${ALICLOUD_RAM_WORKDIR:-} ]]; then
    _repo_hash=$(printf '%s' "$REPO_ROOT" | cksum | cut -d' ' -f1)
    ALICLOUD_RAM_WORKDIR="${TMPDIR:-/tmp}/alicloud.ram-test-${_repo_hash}"
    unset _repo_hash
fi
WORKDIR=$ALICLOUD_RAM_WORKDIR
TREE=$WORKDIR/ansible_collections/alicloud/ram
PYTHON_VERSION=${PYTHON_VERSION:-3.11}
export REPO_ROOT VENV WORKDIR TREE PYTHON_VERSION ALICLOUD_RAM_WORKDIR
export PATH="$VENV/bin:$PATH"
export PIP_DISABLE_PIP_VERSION_CHECK=1

log() {
    printf '>>> %s\n' "$*" >&2
}

die() {
    printf 'ERROR: %s\n' "$*" >&2
    exit 1
}

# ansible-test bootstraps pip in the virtualenvs it creates by running
# ~/.ansible/test/cache/get_pip_<pip version>.py, normally downloaded; put the offline stand-in
# tests/tools/get_pip.py there for the pip version that the ansible-test of Python $1 pins.
install_get_pip() {
    local version cache
    version=$("$1" - <<'PY'
import re
from pathlib import Path

import ansible_test

source = Path(ansible_test.__file__).parent / '_internal' / 'python_requirements.py'
match = re.search(r"default_packages = dict\(\s*pip='([0-9.]+)'", source.read_text())
print(match.group(1) if match else '24.2')
PY
)
    cache=$HOME/.ansible/test/cache/get_pip_${version//./_}.py
    if ! cmp -s "$REPO_ROOT/tests/tools/get_pip.py" "$cache"; then
        mkdir -p "$(dirname "$cache")"
        cp "$REPO_ROOT/tests/tools/get_pip.py" "$cache"
        log "installed offline get-pip stand-in as $cache"
    fi
}
