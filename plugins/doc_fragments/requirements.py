# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: what the plugins need installed. The package lines are
# those of requirements.txt (tests/unit/test_requirements.py keeps them equal).


class ModuleDocFragment(object):

    # Every module. (ansible-core insists on an options key in every fragment.)
    DOCUMENTATION = r'''
options: {}
requirements:
  - Python 3.7 or newer where the module runs, normally the controller (a task on C(localhost) with C(connection=local))
  - 'the Python packages below, installed into that Python: C(python3 -m pip install -r requirements.txt) in a virtualenv,
    or C(pipx inject ansible-core -r requirements.txt) when Ansible was installed with pipx (C(requirements.txt) comes with
    the collection)'
  - alibabacloud-ecs20140526 (>=7.11.8, <8)
  - alibabacloud-ram20150501 (>=1.3.0, <2)
  - alibabacloud-sts20150401 (>=1.2.0, <2)
  - alibabacloud-tea-openapi (>=0.4.6, <0.5)
  - darabonba-core (>=1.0.9, <1.1)
'''

    # The lookup: it runs on the controller and talks to the metadata service with the standard library only.
    LOOKUP = r'''
options: {}
requirements:
  - nothing beyond ansible-core (the lookup does not use the Alibaba Cloud SDKs the modules need)
'''
