# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run build/test steps in order, time each one and print a summary table.

Usage: python3 tests/tools/run_steps.py STEP [STEP ...]

Every step is ``tests/tools/steps.sh STEP``.  All steps run even when an earlier one fails
(so one run shows every problem), except that nothing runs after a failed ``venv`` step.
Exit status: 0 when no step failed, 1 otherwise.  A step exiting with 77 is reported as
skipped.  Each step's output is streamed and also kept in ``$WORKDIR/logs/STEP.log``; the
closing line of every pytest run is repeated at the very end.  Runs from the same checkout
share ``$WORKDIR`` and are serialised with a lock file there.
"""

from __future__ import annotations

import fcntl
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
STEPS_SH = os.path.join(HERE, 'steps.sh')
SKIPPED_RC = 77
PYTEST_STEPS = frozenset(('units', 'emulator-tests', 'integration'))
PYTEST_CLOSING = re.compile(r'^=+ .*\bin [0-9.]+s\b.*=+$')
ANSI = re.compile(r'\x1b\[[0-9;]*m')


def workdir():
    """Return the scratch directory lib.sh uses (computed by lib.sh itself)."""
    out = subprocess.run(
        ['bash', '-c', 'source "$1" && printf %s "$WORKDIR"', 'bash', os.path.join(HERE, 'lib.sh')],
        check=True, stdout=subprocess.PIPE, text=True,
    )
    return out.stdout


def run_step(name, log_path):
    """Run one step, streaming and logging its output; return (rc, seconds, closing line)."""
    start = time.monotonic()
    closing = None
    with open(log_path, 'w', encoding='utf-8') as log:
        proc = subprocess.Popen(
            ['bash', STEPS_SH, name], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, errors='replace', bufsize=1,
        )
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            log.write(line)
            plain = ANSI.sub('', line).strip()
            if PYTEST_CLOSING.match(plain):
                closing = plain
        rc = proc.wait()
    return rc, time.monotonic() - start, closing


def main(argv):
    """Entry point."""
    steps = argv[1:]
    if not steps:
        sys.stderr.write(__doc__)
        return 2
    scratch = workdir()
    logs = os.path.join(scratch, 'logs')
    os.makedirs(logs, exist_ok=True)
    # pylint: disable-next=consider-using-with
    lock = open(os.path.join(scratch, '.lock'), 'w', encoding='utf-8')  # held until exit
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print('waiting for another build/test run using %s ...' % scratch, flush=True)
        fcntl.flock(lock, fcntl.LOCK_EX)
    rows = []
    closings = []
    total_start = time.monotonic()
    for index, name in enumerate(steps, 1):
        banner = '=== [%d/%d] %s ' % (index, len(steps), name)
        print('\n' + banner + '=' * max(3, 78 - len(banner)), flush=True)
        log_path = os.path.join(logs, name + '.log')
        if rows and rows[0][0] == 'venv' and rows[0][1] == 'FAILED':
            rows.append((name, 'NOT RUN', 0.0, ''))
            continue
        rc, seconds, closing = run_step(name, log_path)
        if rc == 0:
            result = 'passed'
        elif rc == SKIPPED_RC:
            result = 'skipped'
        else:
            result = 'FAILED'
        rows.append((name, result, seconds, '' if rc in (0, SKIPPED_RC) else 'exit %d, log %s' % (rc, log_path)))
        if name in PYTEST_STEPS and closing:
            closings.append((name, closing))

    total = time.monotonic() - total_start
    failed = [row[0] for row in rows if row[1] in ('FAILED', 'NOT RUN')]
    width = max(len('step'), *(len(row[0]) for row in rows))
    print('\n' + '=' * 78)
    print('SUMMARY')
    print(f"{'step':<{width}}  {'result':<8}  {'seconds':>8}  details")
    print(f"{'-' * width}  {'-' * 8}  {'-' * 8}  {'-' * 7}")
    for name, result, seconds, details in rows:
        print(f'{name:<{width}}  {result:<8}  {seconds:>8.1f}  {details}'.rstrip())
    print(f"{'total':<{width}}  {'FAILED' if failed else 'passed':<8}  {total:>8.1f}")
    if failed:
        print('failed: %s' % ', '.join(failed))
    if closings:
        print('\npytest:')
        for name, closing in closings:
            print('[%s]' % name)
            print(closing)
    sys.stdout.flush()
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
