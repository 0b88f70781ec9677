"""Read YAML into plain values while remembering where each value stood in the file.

PyYAML's safe loader forgets line numbers and silently keeps the last of two duplicate keys. This reader composes the
node tree instead, records the line and column of every value under its document path (``roles.x.grants[0]``), and
reports duplicate keys and unreadable scalars as problems rather than stopping.
"""

from __future__ import annotations

import yaml

from governance.problem import ProblemLog


def read_yaml(text: str, log: ProblemLog) -> object:
    """Parse ``text`` into dicts, lists and scalars, filling ``log.locations``; syntax errors become problems.

    Args:
        text: the YAML document.
        log: where locations and problems go.

    Returns:
        The document as plain Python values, or ``None`` when it could not be parsed at all.
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        if mark is not None:
            log.locations[""] = (mark.line + 1, mark.column + 1)
        problem = getattr(error, "problem", None) or str(error)
        log.add(
            "", f"the file is not valid YAML: {problem}", "correct the YAML syntax at the place shown", missing=True
        )
        return None
    finally:
        loader.dispose()
    if node is None:
        return None
    return _value(node, "", loader, log)


def _value(node: yaml.Node, path: str, loader: yaml.SafeLoader, log: ProblemLog) -> object:
    log.locations.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, yaml.MappingNode):
        return _mapping(node, path, loader, log)
    if isinstance(node, yaml.SequenceNode):
        return [_value(item, f"{path}[{index}]", loader, log) for index, item in enumerate(node.value)]
    try:
        return loader.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError) as error:
        log.add(path, f"the value cannot be read ({error})", "write a plain value of the expected type", node.value)
        return None


def _mapping(node: yaml.MappingNode, path: str, loader: yaml.SafeLoader, log: ProblemLog) -> dict[object, object]:
    result: dict[object, object] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node) if isinstance(key_node, yaml.ScalarNode) else repr(key_node)
        child = f"{path}.{key}" if path else str(key)
        if key in result:
            log.locations[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            log.add(child, "the key appears twice in the same mapping", "keep one of them", key)
            continue
        log.locations[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
        result[key] = _value(value_node, child, loader, log)
    return result
