#!/usr/bin/env bash
# make demo: the whole instance RAM role procedure against the local emulator, in one command.
#
#   1. run playbooks/instance_role_setup.yml           (creates everything: changes expected)
#   2. run it again                                    (idempotent: changed=0, checked)
#   3. run playbooks/instance_credentials.yml          (metadata service lookup, secret masked)
#   4. run playbooks/instance_role_teardown.yml        (removes everything again)
#   5. ask the emulator whether anything is left       (checked)
#
# Before that it makes sure the virtualenv is ready, builds the collection and installs it into a
# temporary collections path, and starts the emulator in the background (always stopped on exit).
# Nothing talks to a real account: every ALIBABA_CLOUD_* / ALICLOUD_* variable of the caller is
# dropped and replaced by the emulator's.
#
# Settings (environment): DEMO_INSTANCES (VPC instances seeded by the emulator, default 3),
# DEMO_REGION (default cn-hangzhou), DEMO_USER (RAM user granted the role, default app-deployer),
# DEMO_KEEP=1 keeps the scratch directory (logs, collection, emulator output),
# DEMO_MODULE_PYTHON (the Python the modules run on, default the virtualenv's).
# With VENV set (make matrix does that), that virtualenv's ansible-core and SDKs are used as they
# are; otherwise the project's .venv is created or updated first.
set -euo pipefail
CALLER_VENV=${VENV:-}
# shellcheck source=tests/tools/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STEPS=5
INSTANCES=${DEMO_INSTANCES:-3}
REGION=${DEMO_REGION:-cn-hangzhou}
DEMO_USER=${DEMO_USER:-app-deployer}
PY=$VENV/bin/python
MODULE_PYTHON=${DEMO_MODULE_PYTHON:-$PY}
EMULATOR_PID=
EMULATOR_URL=
DEMO_DIR=

say() {
    printf '%s\n' "$*"
}

step() {
    printf '\n== Step %s/%s: %s\n\n' "$1" "$STEPS" "$2"
}

fail() {
    printf '\nDEMO FAILED: %s\n' "$*" >&2
    exit 1
}

cleanup() {
    local status=$?
    if [[ -n $EMULATOR_PID ]] && kill -0 "$EMULATOR_PID" 2>/dev/null; then
        kill "$EMULATOR_PID" 2>/dev/null || true
        wait "$EMULATOR_PID" 2>/dev/null || true
    fi
    if [[ -n $DEMO_DIR && -d $DEMO_DIR ]]; then
        if [[ $status -ne 0 || ${DEMO_KEEP:-0} == 1 ]]; then
            printf 'Logs and emulator output kept in %s\n' "$DEMO_DIR" >&2
        else
            rm -rf "$DEMO_DIR"
        fi
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Call the emulator's control API: control METHOD PATH [JSON BODY]; prints the JSON answer.
control() {
    "$PY" - "$EMULATOR_URL" "$@" <<'PY'
import json
import sys
import urllib.request

url, method, path = sys.argv[1:4]
body = sys.argv[4].encode() if len(sys.argv) > 4 else None
request = urllib.request.Request('%s/_emulator/%s' % (url, path), data=body, method=method,
                                 headers={'Content-Type': 'application/json'})
with urllib.request.urlopen(request, timeout=30) as response:
    print(response.read().decode())
PY
}

# Evaluate a Python expression over the JSON on stdin (bound to `data`); print the result.
json_eval() {
    "$PY" -c 'import json, sys; data = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}

# Run one of the playbooks, showing its output and keeping a copy; prints nothing else.
run_playbook() {
    local log=$1
    shift
    say "\$ ansible-playbook $*"
    if ! (cd "$REPO_ROOT" && ansible-playbook -i "$DEMO_DIR/inventory.ini" "$@") 2>&1 | tee "$DEMO_DIR/$log"; then
        fail "ansible-playbook $* failed (output above, copy in $DEMO_DIR/$log)"
    fi
}

# The changed=N count of localhost's PLAY RECAP line in a saved playbook log.
recap_changed() {
    local line
    line=$(grep -E '^localhost +: ' "$DEMO_DIR/$1" | tail -n 1) || fail "no PLAY RECAP in $DEMO_DIR/$1"
    [[ $line =~ changed=([0-9]+) ]] || fail "cannot read changed= from: $line"
    printf '%s\n' "${BASH_REMATCH[1]}"
}

start=$SECONDS

say "== Preparing: virtualenv, collection build and install, emulator"
if [[ -z $CALLER_VENV ]]; then
    "$REPO_ROOT/tests/tools/venv.sh"
fi
say "$(ansible --version | head -n 1) on Python $("$PY" -c 'import platform; print(platform.python_version())'), modules on $MODULE_PYTHON"
DEMO_DIR=$(mktemp -d "${TMPDIR:-/tmp}/alicloud.ram-demo.XXXXXX")

# Only the emulator's settings, never the caller's cloud credentials or Ansible configuration.
while IFS= read -r name; do
    unset "$name"
done < <(compgen -e | grep -E '^(ALIBABA_CLOUD_|ALICLOUD_|ANSIBLE_)' || true)

ansible-galaxy collection build "$REPO_ROOT" --output-path "$DEMO_DIR/build" --force >"$DEMO_DIR/build.log" 2>&1 \
    || { cat "$DEMO_DIR/build.log" >&2; fail "ansible-galaxy collection build failed"; }
tarball=$(ls "$DEMO_DIR"/build/alicloud-ram-*.tar.gz)
# --force: otherwise a copy of the same version in ~/.ansible/collections (the README's install)
# makes ansible-galaxy install nothing here.
ansible-galaxy collection install --offline --force -p "$DEMO_DIR/collections" "$tarball" >>"$DEMO_DIR/build.log" 2>&1 \
    || { cat "$DEMO_DIR/build.log" >&2; fail "ansible-galaxy collection install failed"; }
say "built $(basename "$tarball") and installed it into $DEMO_DIR/collections"

(cd "$REPO_ROOT" && exec "$PY" -m tests.emulator --port 0 --instances "$INSTANCES" --regions "$REGION") \
    >"$DEMO_DIR/emulator.out" 2>"$DEMO_DIR/emulator.log" &
EMULATOR_PID=$!
for _ in $(seq 1 100); do
    EMULATOR_URL=$(sed -n 's/^listening on //p' "$DEMO_DIR/emulator.out")
    [[ -n $EMULATOR_URL ]] && break
    kill -0 "$EMULATOR_PID" 2>/dev/null || { cat "$DEMO_DIR/emulator.log" >&2; fail "the emulator did not start"; }
    sleep 0.1
done
[[ -n $EMULATOR_URL ]] || fail "the emulator did not report its address within 10 s"
say "emulator (RAM, ECS, STS, metadata) listening on $EMULATOR_URL, pid $EMULATOR_PID"

export ANSIBLE_COLLECTIONS_PATH=$DEMO_DIR/collections
export ANSIBLE_RETRY_FILES_ENABLED=0
export ALIBABA_CLOUD_ACCESS_KEY_ID=LTAIEmulatorAdminKey
export ALIBABA_CLOUD_ACCESS_KEY_SECRET=EmulatorAdminSecretDoNotUse0001
export ALIBABA_CLOUD_REGION_ID=$REGION
export ALIBABA_CLOUD_RAM_ENDPOINT=$EMULATOR_URL
export ALIBABA_CLOUD_ECS_ENDPOINT=$EMULATOR_URL
export ALIBABA_CLOUD_STS_ENDPOINT=$EMULATOR_URL
export ALIBABA_CLOUD_METADATA_ENDPOINT=$EMULATOR_URL
printf 'localhost ansible_connection=local ansible_python_interpreter=%s\n' "$MODULE_PYTHON" >"$DEMO_DIR/inventory.ini"

instance_ids=$(control GET "instances?region=$REGION" \
    | json_eval 'json.dumps([i["InstanceId"] for i in data["instances"] if i["InstanceNetworkType"] == "vpc"])')
control POST users "{\"user_name\": \"$DEMO_USER\"}" >/dev/null
printf '{"instance_role_instance_ids": %s, "instance_role_users": ["%s"]}\n' "$instance_ids" "$DEMO_USER" \
    >"$DEMO_DIR/demo-vars.json"
role_name=$(grep -E '^instance_role_name:' "$REPO_ROOT/playbooks/vars/instance_role.yml" | awk '{print $2}')
say "seeded VPC instances: $instance_ids"
say "RAM user to authorize: $DEMO_USER"
say "variables: playbooks/vars/instance_role.yml (role $role_name) plus -e @demo-vars.json:"
sed 's/^/  /' "$DEMO_DIR/demo-vars.json"

step 1 "run setup: create the role, attach its policies, attach it to the instances, authorize the user"
run_playbook setup-1.log playbooks/instance_role_setup.yml -e "@$DEMO_DIR/demo-vars.json"
changed=$(recap_changed setup-1.log)
[[ $changed -gt 0 ]] || fail "the first setup run reported no change (changed=$changed)"
say "first run: changed=$changed, as expected"

step 2 "run setup again: expect no changes"
run_playbook setup-2.log playbooks/instance_role_setup.yml -e "@$DEMO_DIR/demo-vars.json"
changed=$(recap_changed setup-2.log)
[[ $changed -eq 0 ]] || fail "the second setup run changed something (changed=$changed): it must be idempotent"
say "second run: changed=0, as expected (idempotent)"

step 3 "read the role's temporary credentials from the instance metadata service"
current=$(control POST metadata "{\"role_name\": \"$role_name\"}" | json_eval 'data["instance_id"] + " holds role " + data["role_name"]')
say "the emulator's metadata service answers as instance $current"
run_playbook credentials.log playbooks/instance_credentials.yml
grep -q 'access_key_id' "$DEMO_DIR/credentials.log" || fail "the credentials playbook printed no access key id"

step 4 "run teardown: revoke the user, detach instances and policies, delete the role"
run_playbook teardown.log playbooks/instance_role_teardown.yml -e "@$DEMO_DIR/demo-vars.json"

step 5 "check with the emulator that nothing is left"
leftovers=$(control GET state | json_eval "'; '.join(
    ['role ' + r['RoleName'] for r in data['roles'] if r['RoleName'] == '$role_name']
    + ['instance ' + i['InstanceId'] + ' holds the role' for i in data['instances'] if i.get('RamRoleName') == '$role_name']
    + ['custom policy ' + p['PolicyName'] for p in data['policies'] if p.get('PolicyType', 'Custom') == 'Custom']
    + ['user ' + u['UserName'] + ' still has ' + str(len(u['policies'])) + ' policies' for u in data['users'] if u['policies']])")
[[ -z $leftovers ]] || fail "left behind after the teardown: $leftovers"
say "role $role_name: gone; instances holding it: none; custom policies: none; user grants: none"

printf '\nDemo finished in %s s: setup (changed), setup again (no change), credentials lookup, teardown.\n' \
    "$((SECONDS - start))"
