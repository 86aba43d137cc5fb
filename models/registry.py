"""The architecture registry: which config class and module a checkpoint's config describes, in one place.

A config dict with "arch": "transformer" is a TransformerConfig; one with a "toolkit" key (and no
"arch") an imported toolkit's RNN (models.foreign); anything else attnscope's own RNN. Model files
and folders from other toolkits are told apart in models.importers (KINDS).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from models.foreign.config import ForeignConfig
from models.foreign.model import ForeignSeq2Seq
from models.rnn.config import ConfigError, ModelConfig
from models.rnn.seq2seq import Seq2Seq
from models.step_api import StepModel
from models.transformer.config import TransformerConfig
from models.transformer.model import TransformerSeq2Seq


class Architecture(NamedTuple):
    name: str
    config: type
    model: Callable[[Any], StepModel]
    matches: Callable[[dict[str, Any]], bool]


ARCHITECTURES = (
    Architecture("transformer", TransformerConfig, TransformerSeq2Seq, lambda d: "arch" in d),
    Architecture("rnn-foreign", ForeignConfig, ForeignSeq2Seq, lambda d: "toolkit" in d),
    Architecture("rnn", ModelConfig, Seq2Seq, lambda d: True),
)


def config_from_dict(data: Any) -> Any:
    """The config a checkpoint's JSON describes (ConfigError when it describes none)."""
    if not isinstance(data, dict):
        raise ConfigError("config must be a JSON object")
    arch = next(a for a in ARCHITECTURES if a.matches(data))
    return arch.config.from_dict(data)  # type: ignore[attr-defined]


def build_model(config: Any) -> StepModel:
    """The module `config` describes (the most specific class first: ForeignConfig is a ModelConfig)."""
    for arch in ARCHITECTURES:
        if type(config) is arch.config:
            return arch.model(config)
    raise ConfigError(f"no architecture for a {type(config).__name__}")
