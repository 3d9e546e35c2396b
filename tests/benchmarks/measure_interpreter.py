# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An ``ansible_python_interpreter`` that records what the module process cost.

    python -S -E measure_interpreter.py REAL_PYTHON [ARGS...]

Runs ``REAL_PYTHON ARGS...`` as a child (stdin, stdout and stderr passed through, as Ansible
pipes the module in and reads its result) and appends one JSON line to the file named by
``ALICLOUD_RAM_BENCH_PROCESS_LOG``: the child's user and system CPU seconds, its peak resident
set size (MiB), from ``os.wait4``, its wall seconds, start and end (``time.time()``), and
``ALICLOUD_RAM_BENCH_LABEL``. With
``ALICLOUD_RAM_BENCH_STDERR_DIR`` the child's stderr goes to a new file there instead (with
``PYTHONPROFILEIMPORTTIME=1``: the import times of the module process). Exits with the child's
status. Started with ``-S -E`` (no site, no environment) so that it adds as little as possible.
"""

import json
import os
import sys
import time

LOG_ENV = 'ALICLOUD_RAM_BENCH_PROCESS_LOG'
STDERR_ENV = 'ALICLOUD_RAM_BENCH_STDERR_DIR'


def main(argv):
    real = argv[1]
    stderr_path = None
    if os.environ.get(STDERR_ENV):
        stderr_path = os.path.join(os.environ[STDERR_ENV], 'stderr-%d-%d.txt' % (os.getpid(), time.time_ns()))
    start, started_at = time.monotonic(), time.time()
    pid = os.fork()
    if pid == 0:
        try:
            if stderr_path:
                os.dup2(os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 2)
            os.execv(real, [real] + argv[2:])
        finally:
            os._exit(127)  # pylint: disable=protected-access
    _pid, status, usage = os.wait4(pid, 0)
    record = {
        'cpu_seconds': round(usage.ru_utime + usage.ru_stime, 4),
        'user_seconds': round(usage.ru_utime, 4),
        'system_seconds': round(usage.ru_stime, 4),
        'max_rss_mib': round(usage.ru_maxrss / 1024.0, 1),  # Linux reports KiB
        'wall_seconds': round(time.monotonic() - start, 4),
        'start': started_at,
        'end': time.time(),
        'label': os.environ.get('ALICLOUD_RAM_BENCH_LABEL', ''),
        'stderr': stderr_path,
    }
    with open(os.environ[LOG_ENV], 'a') as handle:
        handle.write(json.dumps(record) + '\n')
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


if __name__ == '__main__':
    sys.exit(main(sys.argv))
