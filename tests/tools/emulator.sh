#!/usr/bin/env bash
# The local emulator in the background, for trying the collection by hand:
#
#   eval "$(make -s emulator)"    start it; sets ALIBABA_CLOUD_* (key, region, endpoints) and EMULATOR_PID
#   make emulator-stop            stop it
#
# `start` stops the emulator an earlier `start` left running, then starts a fresh one (three VPC
# instances and one classic instance in cn-hangzhou, only the admin user) and prints its export
# lines on stdout; everything else goes to stderr. The lines are also kept in
# $WORKDIR/emulator.env, which is how `stop` finds it when EMULATOR_PID is not set.
set -euo pipefail
# shellcheck source=tests/tools/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ENV_FILE=$WORKDIR/emulator.env

# The pid of the emulator started here (EMULATOR_PID, else the one in $ENV_FILE), if it runs.
running_pid() {
    local pid
    for pid in "${EMULATOR_PID:-}" "$(sed -n 's/^export EMULATOR_PID=//p' "$ENV_FILE" 2>/dev/null)"; do
        [[ $pid =~ ^[0-9]+$ ]] || continue
        # Only ever signal our own emulator, never whatever process reuses the number.
        if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- '-m tests.emulator'; then
            printf '%s\n' "$pid"
            return 0
        fi
    done
    return 1
}

stop() {
    local pid
    if pid=$(running_pid); then
        kill "$pid"
        log "stopped the emulator (pid $pid)"
    fi
    rm -f "$ENV_FILE"
}

start() {
    local python=$VENV/bin/python
    [[ -x $python ]] || python=${PYTHON:-python3}
    stop
    mkdir -p "$WORKDIR"
    (cd "$REPO_ROOT" && "$python" -m tests.emulator --print-env --daemon --quiet "$@") >"$ENV_FILE.tmp" \
        || die "the emulator did not start"
    mv "$ENV_FILE.tmp" "$ENV_FILE"
    grep '^export ' "$ENV_FILE"
    log "emulator $(sed -n 's/^# listening on //p' "$ENV_FILE") running in the background; stop it with: make emulator-stop"
}

case ${1:-} in
    start) shift; start "$@" ;;
    stop) stop ;;
    *) die "usage: $0 start [emulator options] | stop" ;;
esac
