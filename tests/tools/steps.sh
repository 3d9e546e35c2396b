#!/usr/bin/env bash
# One build/test step per call:  tests/tools/steps.sh <step>
#
# Steps: venv layout sanity lint build docs-lint docs changelog-lint changelog-release
#        units emulator-tests integration targets core-versions matrix
# Exit status 77 means "skipped" (nothing to test); run_steps.py reports it as such.
# Tree-based steps expect `layout` to have run first (run_steps.py does that).
set -euo pipefail
# shellcheck source=tests/tools/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SKIPPED=77
PYTEST_OPTS=(-p no:pytest-ansible -p no:cacheprovider -ra)
# One more worker than cores: a third of an integration run is spent waiting (backoff, barriers, the
# emulator's faults), which a third worker fills (measured: 411 s at 3 workers, 468 s at 2, on 2 cores).
INTEGRATION_WORKERS=${INTEGRATION_WORKERS:-$(($(nproc 2>/dev/null || echo 2) + 1))}
SANITY_MODE=${SANITY_MODE:---venv}

need_tree() {
    [[ -f $TREE/galaxy.yml ]] || die "no collection tree at $TREE (run tests/tools/layout.sh)"
}

run() {
    printf '+ %s\n' "$*" >&2
    "$@"
}

has_tests() {
    [[ -d $1 ]] && [[ -n $(find "$1" -type f \( -name 'test_*.py' -o -name '*_test.py' \) -print -quit) ]]
}

# pytest over a directory: skipped when it holds no test files; exit 5 (nothing collected)
# stays a failure when it does.
run_pytest() {
    local dir=$1
    shift
    if ! has_tests "$dir"; then
        printf 'no test files under %s: skipped\n' "$dir"
        return "$SKIPPED"
    fi
    run "$VENV/bin/python" -m pytest "${PYTEST_OPTS[@]}" "$@" "$dir"
}

step_venv() {
    run "$REPO_ROOT/tests/tools/venv.sh"
}

step_layout() {
    run "$REPO_ROOT/tests/tools/layout.sh"
}

step_sanity() {
    need_tree
    cd "$TREE"
    run ansible-test sanity --python "$PYTHON_VERSION" "$SANITY_MODE" --color no
}

# Plain `ansible-lint` in the repository root, exactly as contributors run it: .ansible-lint
# installs the working tree into .ansible/collections for the playbooks' syntax check. Without
# the unset, a custom ANSIBLE_* path would make ansible-lint install into ~/.ansible instead.
step_lint() {
    cd "$REPO_ROOT"
    run env -u ANSIBLE_HOME -u ANSIBLE_LIBRARY -u ANSIBLE_ROLES_PATH -u ANSIBLE_COLLECTIONS_PATH \
        ansible-lint --nocolor
}

# Build the collection from the clean tree into $1 (default: $WORKDIR/build).
build_tarball() {
    local out=${1:-$WORKDIR/build}
    mkdir -p "$out"
    rm -f "$out"/alicloud-ram-*.tar.gz
    run ansible-galaxy collection build "$TREE" --output-path "$out" --force >&2
    ls "$out"/alicloud-ram-*.tar.gz
}

step_build() {
    need_tree
    local tarball installed kind names name
    tarball=$(build_tarball "$WORKDIR/build")
    installed=$WORKDIR/installed
    rm -rf "$installed"
    mkdir -p "$installed"
    export ANSIBLE_COLLECTIONS_PATH=$installed
    # --force: a copy of the same version in ~/.ansible/collections would make it install nothing
    run ansible-galaxy collection install --offline --force -p "$installed" "$tarball"
    run ansible-doc -l alicloud.ram
    # Render every documented plugin and role the way users see it.
    for kind in module lookup role; do
        names=$(ansible-doc -t "$kind" -l alicloud.ram --json \
            | "$VENV/bin/python" -c 'import json, sys; print("\n".join(sorted(json.load(sys.stdin))))')
        for name in $names; do
            run ansible-doc -t "$kind" "$name" >/dev/null
        done
    done
    printf 'built and installed %s\n' "$tarball"
}

step_build_artifact() {
    need_tree
    build_tarball "$REPO_ROOT/build"
}

step_docs_lint() {
    need_tree
    cd "$TREE"
    ANSIBLE_COLLECTIONS_PATH=$WORKDIR run antsibull-docs lint-collection-docs --plugin-docs .
}

# The collection documentation site as antsibull-docs builds it, into $DOCS_OUTPUT (default
# build/docs): the guides' pages docs/docsite/rst/NAME.rst are generated afresh from docs/NAME.md
# in the laid-out tree (tests/tools/guides_rst.py; a unit test keeps the committed ones current),
# sphinx-init writes a Sphinx project into scratch space (conf.py extended by
# tests/tools/docsite_conf.py: offline), `antsibull-docs collection` renders the collection into
# RST, and sphinx-build fails on any warning.
step_docs() {
    need_tree
    local site=$WORKDIR/docsite out=${DOCS_OUTPUT:-$REPO_ROOT/build/docs} guide name
    run "$VENV/bin/python" "$TREE/tests/tools/guides_rst.py" --root "$TREE"
    for guide in "$TREE"/docs/*.md; do
        name=$(basename "$guide" .md)
        grep -qE "^ *- $name *\$" "$TREE/docs/docsite/extra-docs.yml" \
            || die "docs/$name.md is not in the documentation site: list $name in docs/docsite/extra-docs.yml"
    done
    export ANSIBLE_COLLECTIONS_PATH=$WORKDIR
    rm -rf "$site"
    mkdir -p "$site"
    run antsibull-docs sphinx-init --use-current --squash-hierarchy --fail-on-error --dest-dir "$site" \
        --project alicloud.ram --copyright 'alicloud.ram contributors' \
        --title 'alicloud.ram collection documentation' --html-short-title alicloud.ram alicloud.ram >/dev/null
    printf '\nfrom docsite_conf import *  # noqa: E402,F401,F403  (tests/tools/docsite_conf.py)\n' >>"$site/conf.py"
    # The collection is not on Galaxy: plugin pages show how to build and install it instead.
    cat >"$site/antsibull-docs.cfg" <<'CFG'
breadcrumbs = true
indexes = true
use_html_blobs = false
add_antsibull_docs_version = true
collection_url = {
  * = "https://github.com/alicloud-ram/alicloud.ram"
}
collection_install = {
  * = "ansible-galaxy collection build && ansible-galaxy collection install --force {namespace}-{name}-*.tar.gz"
}
CFG
    mkdir -p "$site/rst"
    chmod og-w "$site/rst"  # antsibull-docs refuses a directory others may write to
    run antsibull-docs --config-file "$site/antsibull-docs.cfg" collection --cleanup everything --fail-on-error \
        --use-current --squash-hierarchy --dest-dir "$site/rst" alicloud.ram
    rm -rf "$out"
    PYTHONPATH=$REPO_ROOT/tests/tools${PYTHONPATH:+:$PYTHONPATH} \
        run sphinx-build -b html -c "$site" -W --keep-going -q "$site/rst" "$out"
    printf 'documentation site: %s/index.html\n' "$out"
}

# Sanity and the example playbooks on every supported ansible-core release (tests/tools/matrix.sh).
step_matrix() {
    run "$REPO_ROOT/tests/tools/matrix.sh"
}

# Within CI's budget: the playbooks on the oldest and the newest release (sanity runs on 2.19 in the
# sanity step; `make matrix` runs it on every release).
step_core_versions() {
    run "$REPO_ROOT/tests/tools/matrix.sh" --ci
}

step_changelog_lint() {
    cd "$REPO_ROOT"
    run antsibull-changelog lint
}

# antsibull-changelog release adds the unreleased fragments to the version galaxy.yml names; when
# that version is released already it folds them into it with a mere warning: refuse that.
step_changelog_release() {
    cd "$REPO_ROOT"
    local version
    version=$("$VENV/bin/python" -c 'import yaml; print(yaml.safe_load(open("galaxy.yml"))["version"])')
    if "$VENV/bin/python" -c 'import sys, yaml; sys.exit(sys.argv[1] not in (yaml.safe_load(open("changelogs/changelog.yaml")).get("releases") or {}))' "$version"; then
        die "galaxy.yml says $version, which changelogs/changelog.yaml has released already: set the next version first (docs/releasing.md)"
    fi
    run antsibull-changelog lint
    run antsibull-changelog release
}

step_units() {
    need_tree
    cd "$TREE"
    PYTHONPATH=$WORKDIR${PYTHONPATH:+:$PYTHONPATH} run_pytest tests/unit
}

step_emulator_tests() {
    cd "$REPO_ROOT"
    run_pytest tests/emulator/tests
}

step_integration() {
    cd "$REPO_ROOT"
    local xdist=()
    if [[ $INTEGRATION_WORKERS -gt 1 ]]; then
        xdist=(-n "$INTEGRATION_WORKERS")
    fi
    run_pytest tests/integration --durations=10 "${xdist[@]}"
}

# The integration targets (tests/integration/targets) through ansible-test, against the emulator
# (tests/tools/cloud_test.sh; `make cloud-test` runs them against an account). Every target's API
# calls are recorded; the recordings must hold no secret and replay against a fresh emulator with
# zero differences (tests/tools/check_recordings.py, tests/emulator/conformance.py).
step_targets() {
    local recordings=$WORKDIR/recordings
    rm -rf "$recordings"
    ALICLOUD_RAM_RECORD_DIR=$recordings run "$REPO_ROOT/tests/tools/cloud_test.sh" --emulator --jobs "$INTEGRATION_WORKERS"
    run "$VENV/bin/python" "$REPO_ROOT/tests/tools/check_recordings.py" "$recordings"/*.jsonl
}

main() {
    [[ $# -eq 1 ]] || die "usage: $0 <step>"
    local fn=step_${1//-/_}
    declare -F "$fn" >/dev/null || die "unknown step: $1"
    "$fn"
}

main "$@"
