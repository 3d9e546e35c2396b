#!/usr/bin/env bash
# Lay the checkout out as $WORKDIR/ansible_collections/alicloud/ram, outside the repository.
#
# ansible-test needs a real directory named ansible_collections/<namespace>/<name> and takes
# the file list from git, so the tree is a plain copy of the tracked and untracked-but-not-
# ignored files with its own git repository (committed on every sync). tests/output/ (the
# virtualenvs and caches ansible-test keeps there) survives between runs.
set -euo pipefail
# shellcheck source=tests/tools/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case $TREE in
    "$REPO_ROOT"/*) die "the collection tree must live outside the repository ($TREE)" ;;
esac

mkdir -p "$TREE"
# Remove the previous copy, keeping only the copy's .git and tests/output.
find "$TREE" -mindepth 1 -maxdepth 1 ! -name .git ! -name tests -exec rm -rf {} +
if [[ -d $TREE/tests ]]; then
    find "$TREE/tests" -mindepth 1 -maxdepth 1 ! -name output -exec rm -rf {} +
fi

# Copy tracked and untracked-but-not-ignored files that exist in the work tree.
(
    cd "$REPO_ROOT"
    git ls-files -z --cached --others --exclude-standard \
        | while IFS= read -r -d '' path; do
            if [[ -e $path || -L $path ]]; then
                printf '%s\0' "$path"
            fi
        done \
        | tar --create --file=- --null --no-recursion --files-from=-
) | tar -xf - -C "$TREE"

(
    cd "$TREE"
    if [[ ! -d .git ]]; then
        git init -q .
    fi
    git add -A .
    git -c user.name=alicloud.ram-tests -c user.email=tests@localhost.invalid \
        -c commit.gpgsign=false commit -q --allow-empty --no-verify -m "sync from $REPO_ROOT"
)
printf '%s\n' "$TREE"
