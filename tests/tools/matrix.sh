#!/usr/bin/env bash
# make matrix: the collection on every ansible-core release meta/runtime.yml admits.
#
#   tests/tools/matrix.sh [--ci] [--playbooks-only] [--sanity-only-on VERSION] [VERSION ...]
#
# Each release gets a virtualenv of its own, on a Python that release supports on the controller,
# holding that ansible-core and the collection's requirements.txt (cached in $MATRIX_CACHE and
# rebuilt only when either changes). With it:
#   sanity     ansible-test sanity --python X.Y --venv on the laid-out collection ($TREE);
#   playbooks  tests/tools/demo.sh against the emulator: build and install the collection with that
#              release, setup (changes), setup again (no change), credentials lookup, teardown,
#              nothing left behind.
# On the oldest release the playbooks run the modules on the oldest Python tests/config.yml
# declares for them, in a virtualenv with only requirements.txt, every package at its lower bound
# (pip -c): so that declaration and the lower bounds stay true. The other virtualenvs get the
# newest releases within requirements.txt's bounds. The summary lists the versions each used.
# A release or module Python whose interpreter is not installed is skipped, saying so; the exit
# status is 1 when anything that ran failed.
#
# VERSION picks releases by prefix (2.17, 2.21.5); default: all. --playbooks-only skips sanity;
# --sanity-only-on VERSION runs sanity for that release only. --ci (what `make test` runs, within
# its time budget; 2.19 is tested by every other step, sanity included): the playbooks on the oldest
# and the newest release. Logs: $WORKDIR/matrix/.
set -euo pipefail
# shellcheck source=tests/tools/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ansible-core release and the controller Python it runs on here. 2.17 supports 3.10-3.12,
# 2.18 and 2.19 3.11-3.13, 2.20 and 2.21 3.12-3.14; the oldest and newest Pythons are spread
# over the releases so that both are covered.
RELEASES=(
    "2.17.14 3.10"
    "2.18.19 3.13"
    "2.19.14 3.11"
    "2.20.10 3.12"
    "2.21.5 3.13"
)
MATRIX_CACHE=${MATRIX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/alicloud.ram/matrix}
LOGS=$WORKDIR/matrix
SUMMARY=()
FAILED=0

# A Python X.Y interpreter that works (a pyenv shim for a version not selected does not), or fail.
find_python() {
    local want=$1 candidate prefix
    for candidate in "python$want" "$(command -v pyenv >/dev/null && pyenv prefix "$want" 2>/dev/null)/bin/python$want"; do
        if "$candidate" -c 'import ensurepip, venv' >/dev/null 2>&1; then
            command -v "$candidate"
            return 0
        fi
    done
    for prefix in /usr/local/bin /usr/bin; do
        if [[ -x $prefix/python$want ]] && "$prefix/python$want" -c 'import ensurepip, venv' >/dev/null 2>&1; then
            printf '%s\n' "$prefix/python$want"
            return 0
        fi
    done
    return 1
}

# A cached virtualenv with the given pip requirements, (re)built when they change; prints its path.
cached_venv() {
    local name=$1 python=$2 dir stamp want
    shift 2
    dir=$MATRIX_CACHE/$name
    stamp=$dir/.alicloud-ram-matrix.stamp
    want=$({ printf '%s\n' "$@"; cat "$REPO_ROOT/requirements.txt"; } | cksum | cut -d' ' -f1)
    if [[ ! -x $dir/bin/python || $(cat "$stamp" 2>/dev/null) != "$want" ]]; then
        log "preparing $dir"
        rm -rf "$dir"
        "$python" -m venv "$dir" >&2
        "$dir/bin/python" -m pip install "$@" -r "$REPO_ROOT/requirements.txt" >"$LOGS/venv-$name.log" 2>&1 \
            || { tail -n 20 "$LOGS/venv-$name.log" >&2; return 1; }
        printf '%s\n' "$want" >"$stamp"
    fi
    printf '%s\n' "$dir"
}

# requirements.txt with every package at its lower bound ('pkg>=1.2,<2' -> 'pkg==1.2'), for pip -c.
lower_bounds() {
    sed -n 's/^\([A-Za-z0-9._-]*\) *>= *\([^,; ]*\).*/\1==\2/p' "$REPO_ROOT/requirements.txt"
}

# The installed versions of requirements.txt's packages in a virtualenv, on one line.
requirement_versions() {
    local names
    names=$(sed -n 's/^\([A-Za-z0-9._-]*\) *[<>=!~].*/\1/p' "$REPO_ROOT/requirements.txt" | tr 'A-Z_' 'a-z-')
    "$1/bin/python" -m pip list --format=freeze 2>/dev/null \
        | awk -F'==' -v names="$names" 'BEGIN { split(names, list, "\n"); for (i in list) wanted[list[i]] = 1 }
            { name = tolower($1); gsub("_", "-", name) } name in wanted { printf "%s%s", sep, $0; sep = " " }
            END { print "" }'
}

# The lowest X.Y of tests/config.yml's modules.python_requires ('>=3.8' -> 3.8).
module_python_floor() {
    sed -n "s/^ *python_requires: *['\"]*>= *\([0-9][0-9.]*\).*/\1/p" "$REPO_ROOT/tests/config.yml" | head -n 1
}

# Run one check with its output in $LOGS/<name>.log; record the outcome for the summary.
check() {
    local name=$1 started=$SECONDS rc=0
    shift
    log "$name: $*"
    "$@" >"$LOGS/$name.log" 2>&1 || rc=$?
    if [[ $rc -eq 0 ]]; then
        SUMMARY+=("$(printf '%-34s passed   %4d s' "$name" $((SECONDS - started)))")
    else
        FAILED=1
        SUMMARY+=("$(printf '%-34s FAILED   %4d s  (log: %s)' "$name" $((SECONDS - started)) "$LOGS/$name.log")")
        tail -n 40 "$LOGS/$name.log" >&2
    fi
}

skip() {
    SUMMARY+=("$(printf '%-34s skipped  %s' "$1" "$2")")
    printf 'SKIPPED %s: %s\n' "$1" "$2" >&2
}

# shellcheck disable=SC2317  # sanity and playbooks are run through check
sanity() {
    local venv=$1 python_version=$2
    (cd "$TREE" && PATH=$venv/bin:$PATH ansible-test sanity --python "$python_version" --venv --color no)
}

# shellcheck disable=SC2317
playbooks() {
    local venv=$1 module_python=${2:-}
    VENV=$venv DEMO_MODULE_PYTHON=$module_python bash "$REPO_ROOT/tests/tools/demo.sh"
}

main() {
    local playbooks_only=0 sanity_only_on='' selected=() entry core python_version python venv
    local name floor floor_python module_python oldest=${RELEASES[0]%% *}
    while [[ $# -gt 0 ]]; do
        case $1 in
            --ci)
                selected+=("${RELEASES[0]%% *}" "${RELEASES[-1]%% *}")
                playbooks_only=1
                ;;
            --playbooks-only) playbooks_only=1 ;;
            --sanity-only-on) sanity_only_on=$2; shift ;;
            -*) die "unknown option: $1" ;;
            *) selected+=("$1") ;;
        esac
        shift
    done
    mkdir -p "$LOGS" "$MATRIX_CACHE"
    # One matrix run at a time: runs from other checkouts share the cached virtualenvs.
    exec 9>"$MATRIX_CACHE/.lock"
    flock 9
    "$REPO_ROOT/tests/tools/layout.sh" >/dev/null
    for entry in "${RELEASES[@]}"; do
        read -r core python_version <<<"$entry"
        if [[ ${#selected[@]} -gt 0 ]] && ! printf '%s\n' "${selected[@]}" | grep -qxF -e "$core" -e "${core%.*}"; then
            continue
        fi
        name="ansible-core $core (Python $python_version)"
        if ! python=$(find_python "$python_version"); then
            skip "$name" "no Python $python_version here (pyenv install $python_version, or put python$python_version on PATH)"
            continue
        fi
        venv=$(cached_venv "core-$core-py$python_version" "$python" "ansible-core==$core") \
            || { FAILED=1; SUMMARY+=("$(printf '%-34s FAILED   virtualenv' "$name")"); continue; }
        if [[ $playbooks_only -eq 0 && ( -z $sanity_only_on || ${core#"$sanity_only_on"} != "$core" ) ]]; then
            install_get_pip "$venv/bin/python"
            check "sanity-$core" sanity "$venv" "$python_version"
        fi
        module_python=''
        if [[ $core == "$oldest" ]]; then
            floor=$(module_python_floor)
            [[ -n $floor ]] || die "tests/config.yml declares no modules python_requires"
            if floor_python=$(find_python "$floor"); then
                lower_bounds >"$LOGS/lower-bounds.txt"
                module_python=$(cached_venv "modules-py$floor-lower-bounds" "$floor_python" -c "$LOGS/lower-bounds.txt")/bin/python \
                    || { FAILED=1; SUMMARY+=("$(printf '%-34s FAILED   virtualenv' "modules on Python $floor")"); continue; }
                SUMMARY+=("$(printf '  modules on Python %s: %s' "$floor" "$(requirement_versions "${module_python%/bin/python}")")")
            else
                skip "modules on Python $floor" "no Python $floor here (tests/config.yml declares it for the modules)"
            fi
        fi
        [[ -n $module_python ]] || SUMMARY+=("$(printf '  with %s' "$(requirement_versions "$venv")")")
        check "playbooks-$core${module_python:+-modules-py$floor}" playbooks "$venv" "$module_python"
    done
    printf '\nMATRIX SUMMARY\n'
    printf '%s\n' "${SUMMARY[@]}"
    return "$FAILED"
}

main "$@"; exit
