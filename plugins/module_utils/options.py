# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: not a public API, may change without notice.
"""One way to read options from a module, a plugin or a plain dict."""


class OptionAdapter(object):
    """Read-only view over option values; ``None`` means "not set"."""

    def __init__(self, getter, description='options'):
        self._getter = getter
        self.description = description

    @classmethod
    def from_module(cls, module):
        return cls(module.params.get, 'module parameters')

    @classmethod
    def from_plugin(cls, plugin):
        def getter(name):
            try:
                return plugin.get_option(name)
            except KeyError:
                return None
            except Exception:  # pylint: disable=broad-except
                # AnsibleError for an option the plugin does not define
                return None
        return cls(getter, 'plugin options')

    @classmethod
    def from_dict(cls, values):
        values = dict(values or {})
        return cls(values.get, 'options')

    def get(self, name, default=None):
        value = self._getter(name)
        return default if value is None else value
