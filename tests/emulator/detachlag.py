"""Detach visibility lag: a detached role stays visible to DescribeInstanceRamRole (and blocks the attach of
another role) for a while, as the real service's detach does.

The lag lasts ``seconds`` on the emulator clock and/or ``reads`` DescribeInstanceRamRole answers that list
the instance; with both, it ends when both are used up. The instance itself holds no role meanwhile (the
metadata service and the control API show the truth).
"""


class DetachLag:
    """Per instance id: the role key still shown. Callers hold the state lock."""

    def __init__(self, clock):
        self.clock = clock
        self.pending = {}

    def start(self, instance_id, role_key, seconds, reads):
        if seconds <= 0 and reads <= 0:
            return
        self.pending[instance_id] = {'role': role_key, 'until': self.clock.now() + seconds if seconds > 0 else None,
                                     'reads': max(0, int(reads))}

    def role(self, instance_id):
        """The role key still shown for ``instance_id``, or None once the lag is over."""
        entry = self.pending.get(instance_id)
        if entry is None:
            return None
        timed = entry['until'] is not None and self.clock.now() < entry['until']
        if timed or entry['reads'] > 0:
            return entry['role']
        del self.pending[instance_id]
        return None

    def read(self, instance_id):
        """One DescribeInstanceRamRole answer showed the lagging role."""
        entry = self.pending.get(instance_id)
        if entry is not None and entry['reads'] > 0:
            entry['reads'] -= 1

    def forget(self, instance_id=None, role_key=None):
        if instance_id is not None:
            self.pending.pop(instance_id, None)
        if role_key is not None:
            for iid in [i for i, entry in self.pending.items() if entry['role'] == role_key]:
                del self.pending[iid]

    def clear(self):
        self.pending.clear()
