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
      - The most API calls that may be in flight at the same time, from 1 to 16, for the batched reads and writes of
        the selected instances. Each call in flight uses its own connection.
      - The pool starts with 4 calls in flight (or this value, if lower) and adds one after each round of calls that
        all went through, up to this value. When the API throttles a call (C(Throttling) codes) it halves, and grows
        again only to one below the level that was throttled, so it settles just under the service's rate limit; it
        tries one more after a while without throttling.
      - A value of 4 or less is a fixed size (the pool starts there); V(1) makes one call at a time.
      - RV(concurrency) returns the most calls that were in flight at once.
    type: int
    default: 16
'''
