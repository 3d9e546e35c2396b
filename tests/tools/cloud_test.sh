#!/usr/bin/env bash
# The integration targets (tests/integration/targets) through ansible-test, on one of two backends:
#
#   tests/tools/cloud_test.sh [--emulator] [--config PATH] [--jobs N] [TARGET ...]     (make cloud-test)
#
# - the local emulator: with --emulator, or when there is no cloud config;
# - a real account: the cloud config PATH (--config, else $ALICLOUD_RAM_CLOUD_CONFIG, else
#   tests/integration/cloud-config-alicloud.ini, made from cloud-config-alicloud.ini.template).
#   Nothing runs unless the config is complete and says i_understand_this_changes_my_account = true.
#
# TARGET names (or ansible-test aliases) pick targets; the default is every cloud/alicloud target.
# --jobs N splits the targets over N ansible-test runs at once, each with its own copy of the
# collection and its own emulator (emulator only: on an account the targets share its instances).
# ALIBABA_CLOUD_RECORD=FILE is passed on to the collection (one JSON line per API call);
# ALICLOUD_RAM_RECORD_DIR=DIR records each target's calls into DIR/TARGET.jsonl instead (one emulator each).
# docs/real-cloud.md describes what a run does, what it needs and what it costs.
set -euo pipefail
# shellcheck source=tests/tools/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TARGETS_DIR=$REPO_ROOT/tests/integration/targets

usage() {
    die "usage: $0 [--emulator] [--config PATH] [--jobs N] [TARGET ...]"
}

# The cloud/alicloud targets, longest task files first.
all_targets() {
    local aliases target
    for aliases in "$TARGETS_DIR"/*/aliases; do
        grep -qx 'cloud/alicloud' "$aliases" || continue
        target=$(basename "$(dirname "$aliases")")
        printf '%s %s\n' "$(cat "$TARGETS_DIR/$target"/tasks/*.yml | wc -l)" "$target"
    done | sort -k1,1nr -k2 | cut -d' ' -f2
}

# Lay out a collection tree in the scratch directory $1 and run ansible-test there, once over the
# targets given or, with --queue FILE, once per target taken from FILE until it is empty.
run_ansible_test() {
    local workdir=$1
    shift
    ALICLOUD_RAM_WORKDIR=$workdir "$REPO_ROOT/tests/tools/layout.sh" >/dev/null
    (
        cd "$workdir/ansible_collections/alicloud/ram"
        ansible_test=("$VENV/bin/python" tests/tools/ansible_test_alicloud.py integration --python "$PYTHON_VERSION" --local --color no)
        if [[ ${1:-} != --queue ]]; then
            exec "${ansible_test[@]}" "$@"
        fi
        queue=$2
        rc=0
        while target=$(take_first_line "$queue"); do
            if [[ -n ${ALICLOUD_RAM_RECORD_DIR:-} ]]; then
                ALIBABA_CLOUD_RECORD=$ALICLOUD_RAM_RECORD_DIR/$target.jsonl "${ansible_test[@]}" "$target" || rc=1
            else
                "${ansible_test[@]}" "$target" || rc=1
            fi
        done
        exit "$rc"
    )
}

# Print and remove the first line of file $1; fail when it is empty. Safe between processes.
take_first_line() {
    local line
    {
        flock 9
        line=$(head -n 1 "$1")
        [[ -n $line ]] || return 1
        sed -i 1d "$1"
    } 9>>"$1.lock"
    printf '%s\n' "$line"
}

# Run the targets in $1 runs at once, each taking the next target from a shared queue when it is free.
run_in_parallel() {
    local jobs=$1 index rc=0 queue
    shift
    local -a pids
    queue=$WORKDIR/targets-queue
    mkdir -p "$WORKDIR"
    printf '%s\n' "$@" >"$queue"
    for ((index = 1; index <= jobs; index++)); do
        run_ansible_test "$WORKDIR/targets-$index" --queue "$queue" 2>&1 | sed -u "s/^/[run $index] /" &
        pids+=("$!")
    done
    for index in "${!pids[@]}"; do
        wait "${pids[index]}" || rc=1
    done
    rm -f "$queue" "$queue.lock"
    return "$rc"
}

backend=
config=${ALICLOUD_RAM_CLOUD_CONFIG:-$REPO_ROOT/tests/integration/cloud-config-alicloud.ini}
config_given=false
[[ -n ${ALICLOUD_RAM_CLOUD_CONFIG:-} ]] && config_given=true
jobs=1
targets=()
while [[ $# -gt 0 ]]; do
    case $1 in
        --emulator) backend=emulator ;;
        --config) [[ $# -ge 2 ]] || usage; config=$2; config_given=true; shift ;;
        --config=*) config=${1#--config=}; config_given=true ;;
        --jobs) [[ $# -ge 2 && $2 =~ ^[1-9][0-9]*$ ]] || usage; jobs=$2; shift ;;
        -h | --help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
        -*) usage ;;
        *) targets+=("$1") ;;
    esac
    shift
done
if [[ -z $backend ]]; then
    if [[ -f $config ]]; then
        backend=cloud-config
    elif $config_given; then
        die "no cloud config at $config"
    else
        backend=emulator
    fi
fi

if [[ $backend == emulator ]]; then
    log "backend: the local emulator (tests/emulator); no cloud account is used"
    unset ALICLOUD_RAM_CLOUD_CONFIG
else
    config=$(cd "$(dirname "$config")" && pwd -P)/$(basename "$config")
    log "backend: the Alibaba Cloud account of $config"
    # The guard: nothing runs unless the config is complete and acknowledges the changes.
    if ! PYTHONPATH=$REPO_ROOT/tests/tools "$VENV/bin/python" -m cloudtest.config "$config" >&2; then
        die "refusing to run against the account of $config (see above); nothing was changed"
    fi
    export ALICLOUD_RAM_CLOUD_CONFIG=$config
    jobs=1
fi
if [[ -n ${ALIBABA_CLOUD_RECORD:-} ]]; then
    ALIBABA_CLOUD_RECORD=$(cd "$(dirname "$ALIBABA_CLOUD_RECORD")" && pwd -P)/$(basename "$ALIBABA_CLOUD_RECORD")
    export ALIBABA_CLOUD_RECORD
    log "recording every API call to $ALIBABA_CLOUD_RECORD"
fi

install_get_pip "$VENV/bin/python"
if [[ ${#targets[@]} -eq 0 ]]; then
    mapfile -t targets < <(all_targets)
fi
if [[ -n ${ALICLOUD_RAM_RECORD_DIR:-} ]]; then
    mkdir -p "$ALICLOUD_RAM_RECORD_DIR"
    ALICLOUD_RAM_RECORD_DIR=$(cd "$ALICLOUD_RAM_RECORD_DIR" && pwd -P)
    export ALICLOUD_RAM_RECORD_DIR
    run_in_parallel "$jobs" "${targets[@]}"
elif [[ $jobs -gt 1 && ${#targets[@]} -gt 1 ]]; then
    run_in_parallel "$jobs" "${targets[@]}"
else
    run_ansible_test "$WORKDIR" "${targets[@]}"
fi
