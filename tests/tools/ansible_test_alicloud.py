#!/usr/bin/env python
# Copyright: alicloud.ram contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ansible-test with the ``cloud/alicloud`` platform of the integration targets.

Run it instead of ``ansible-test`` from the collection tree (ansible_collections/alicloud/ram),
for example ``python tests/tools/ansible_test_alicloud.py integration --python 3.11 --local``.
ansible-test rejects a target whose aliases name a cloud platform it does not ship; this registers
the platform (tests/tools/cloudtest/alicloud.py) and then runs ansible-test unchanged. The plugin
lives in this process, so use ``--local`` (``--venv`` and ``--docker`` start another ansible-test).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# pylint: disable=wrong-import-position
from ansible_test._internal import main  # noqa: E402

import cloudtest.alicloud  # noqa: E402,F401  pylint: disable=unused-import

if __name__ == '__main__':
    main()
