"""Answer shapes: the keys and JSON value types of an answer, never its values, and their differences."""


def kind(value):
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'boolean'
    if isinstance(value, int):
        return 'integer'
    if isinstance(value, float):
        return 'number'
    if isinstance(value, str):
        return 'string'
    if isinstance(value, list):
        return 'array'
    if isinstance(value, dict):
        return 'object'
    return type(value).__name__


def shape(value):
    """``('object', {key: shape})``, ``('array', element shape or None)`` or ``('scalar', frozenset of kinds)``.

    The elements of an array merge into one shape: a key any element has is part of it.
    """
    if isinstance(value, dict):
        return ('object', dict((key, shape(item)) for key, item in value.items()))
    if isinstance(value, list):
        merged = None
        for item in value:
            merged = merge(merged, shape(item))
        return ('array', merged)
    return ('scalar', frozenset([kind(value)]))


def merge(first, second):
    if first is None or second is None:
        return first if second is None else second
    if first[0] != second[0]:
        return ('scalar', kinds(first) | kinds(second))
    if first[0] == 'object':
        keys = dict(first[1])
        for key, item in second[1].items():
            keys[key] = merge(keys.get(key), item)
        return ('object', keys)
    if first[0] == 'array':
        return ('array', merge(first[1], second[1]))
    return ('scalar', first[1] | second[1])


def kinds(node):
    return node[1] if node[0] == 'scalar' else frozenset([node[0]])


def describe(node):
    return '|'.join(sorted(kinds(node)))


def differences(recorded, answered, path='body'):
    """Human-readable differences between two shapes (from :func:`shape`), recorded side first.

    A scalar differs only when no kind is shared (an array of null and strings matches strings); an
    empty array matches any array.
    """
    if recorded[0] != answered[0]:
        if kinds(recorded) & kinds(answered):
            return []
        return ['%s: %s in the recording, %s from the emulator' % (path, describe(recorded), describe(answered))]
    if recorded[0] == 'scalar':
        if recorded[1] & answered[1]:
            return []
        return ['%s: %s in the recording, %s from the emulator' % (path, describe(recorded), describe(answered))]
    if recorded[0] == 'array':
        if recorded[1] is None or answered[1] is None:
            return []
        return differences(recorded[1], answered[1], path + '[]')
    found = []
    for key in sorted(set(recorded[1]) | set(answered[1])):
        if key not in answered[1]:
            found.append('%s.%s: missing from the emulator answer' % (path, key))
        elif key not in recorded[1]:
            found.append('%s.%s: not in the recording' % (path, key))
        else:
            found.extend(differences(recorded[1][key], answered[1][key], '%s.%s' % (path, key)))
    return found
