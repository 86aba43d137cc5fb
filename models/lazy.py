"""Package attributes imported on first use (PEP 562), so a package's API can name torch-backed parts cheaply."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy_attributes(package: str, sources: Mapping[str, str]) -> Callable[[str], object]:
    """A module `__getattr__` for `package`: attribute `name` is imported from module `sources[name]` when first
    read, then cached in the package's namespace."""

    def __getattr__(name: str) -> object:
        source = sources.get(name)
        if source is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(source), name)
        setattr(importlib.import_module(package), name, value)
        return value

    return __getattr__
