"""The one error a model file that cannot be used raises, whatever its format (torch-free, so anyone may catch it)."""

from __future__ import annotations


class CheckpointError(Exception):
    """A model file that cannot be used; the message says why, in words for a user."""
