"""The errors a model file that cannot be used raises, whatever its format (torch-free, so anyone may catch them)."""

from __future__ import annotations


class CheckpointError(Exception):
    """A model file that cannot be used; the message says why, in words for a user."""


class UnexpectedLoadError(CheckpointError):
    """A failure no loader anticipated, caught at the boundary; `__cause__` holds the original exception."""
