"""Reading a toolkit's YAML config (JoeyNMT's config.yaml) with PyYAML's SafeLoader, less what such files never use.

Refused, each with a yaml.YAMLError naming the line: anchors and aliases (an alias expands to a whole subtree:
"billion laughs"), explicit tags (!!python/..., any !tag), nesting deeper than MAX_DEPTH (PyYAML's composer
recurses once per level and hits Python's recursion limit near 1,000) and numbers written with more than
MAX_NUMBER_CHARS characters (int() refuses 4,300 digits; sexagesimal ints multiply up without bound).
Scalars resolve as PyYAML's YAML 1.1 rules do: yes/no/on/off are booleans, 1e-3 (no dot) is a string.
The pure-Python loader is used on purpose: libyaml's C composer recurses without any limit.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.events import AliasEvent, CollectionStartEvent, ScalarEvent
from yaml.nodes import Node, ScalarNode

MAX_DEPTH = 32  # a JoeyNMT config nests 4 deep
MAX_NUMBER_CHARS = 40

YAMLError = yaml.YAMLError


class ConfigLoader(yaml.SafeLoader):
    """SafeLoader without anchors, aliases or tags, with bounded nesting and number lengths."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        event = self.peek_event()
        if isinstance(event, AliasEvent) or getattr(event, "anchor", None) is not None:
            raise ComposerError(None, None, "anchors and aliases (&, *) are not allowed here", event.start_mark)
        if isinstance(event, (ScalarEvent, CollectionStartEvent)) and event.tag is not None:
            raise ComposerError(None, None, f"tags ({event.tag}) are not allowed here", event.start_mark)
        if self._depth >= MAX_DEPTH:
            raise ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels", event.start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self._depth -= 1

    def construct_yaml_int(self, node: ScalarNode) -> int:
        _check_number(node)
        return super().construct_yaml_int(node)  # type: ignore[no-any-return]

    def construct_yaml_float(self, node: ScalarNode) -> float:
        _check_number(node)
        return super().construct_yaml_float(node)  # type: ignore[no-any-return]


def _check_number(node: ScalarNode) -> None:
    if len(node.value) > MAX_NUMBER_CHARS:
        raise ConstructorError(
            None, None, f"a number written with {len(node.value):,} characters is not a size", node.start_mark
        )


ConfigLoader.add_constructor("tag:yaml.org,2002:int", ConfigLoader.construct_yaml_int)
ConfigLoader.add_constructor("tag:yaml.org,2002:float", ConfigLoader.construct_yaml_float)


def load_config(text: str) -> Any:
    """The YAML document in `text` (None if empty); yaml.YAMLError for anything refused or malformed."""
    loader = ConfigLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
