"""Transport behaviour: replies without per-call stalls, lost replies, trickled and non-JSON answers."""

import statistics
import time

from alibabacloud_ram20150501 import models as m


def test_sequential_calls_on_a_kept_alive_connection_do_not_stall(ram):
    ram.list_roles(m.ListRolesRequest())
    durations = []
    for _unused in range(30):
        started = time.perf_counter()
        ram.list_roles(m.ListRolesRequest())
        durations.append(time.perf_counter() - started)
    # Headers and body written apart used to cost a delayed-ACK stall of about 40 ms per call.
    assert statistics.median(durations) < 0.02, durations
