# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: options of the modules that select ECS instances
# (a module may describe an option again where it means something more, as ecs_instance_role_info does).


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
options:
  instance_ids:
    description:
      - IDs of the ECS instances, any number. Duplicates are ignored.
      - At least one of O(instance_ids) and O(instance_tags) is required. An empty list selects nothing.
    type: list
    elements: str
  instance_tags:
    description:
      - Also select every instance of the region that carries all of these tags (C(key) to C(value); an empty value
        matches any value of the key), across all pages of DescribeInstances, in addition to O(instance_ids).
        At most 20 tags.
      - A selection that matches no instance is not an error; the task then changes nothing (an info module returns
        an empty list).
    type: dict
  concurrency:
    description:
      - How many API calls may be in flight at the same time, from 1 to 16, for the batched reads and writes of the
        selected instances. Each call in flight uses its own connection.
      - The limit adapts to the service. It is halved whenever the API throttles a call (C(Throttling) codes), and
        grows back by one after as many calls in a row went through, never above this value.
      - RV(concurrency) returns the most calls that were in flight at once.
    type: int
    default: 4
'''
