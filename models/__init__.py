"""Models: pure-torch seq2seq architectures, their checkpoint file, tokenisers, the demo data and training.

This module is the package's public API: the engine imports models only from here.  The torch-free names
(tokens, errors, atomic writes) are imported with the package; the torch-backed ones on first use, so that
`import models` stays cheap for a window that has not loaded a model yet.

    load_any(path) -> Checkpoint            our .safetensors file, or a JoeyNMT / OpenNMT-py / tutorial model
    checkpoint.model.encode / init_state / decode_step   the step API every architecture shares
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from models.atomic import atomic_write_bytes, atomic_write_text
from models.errors import CheckpointError, UnexpectedLoadError
from models.hygiene import MAX_SOURCE_CHARS, printable_message, shown_token, shown_value
from models.lazy import lazy_attributes
from models.tokens import BOS_ID, EOS, EOS_ID, PAD_ID, SPACE_MARK, SPECIALS, UNK, Tokenizer, Vocab

if TYPE_CHECKING:
    from models.checkpoint import Checkpoint, describe, load_checkpoint, save_checkpoint
    from models.data.corpus_en_hi import Alignment, parse_alignment
    from models.data.dataset import DataError, Example, make_batch, read_pairs, tokenize_pairs
    from models.importers import detect, import_foreign, load_any
    from models.rnn.attention import AlphaEdit, masked_softmax
    from models.rnn.config import ModelConfig
    from models.rnn.decoder import StepOutput
    from models.rnn.encoder import Memory
    from models.rnn.seq2seq import Seq2Seq
    from models.step_api import StepModel, head_layout
    from models.training.batch_decode import greedy_batch
    from models.transformer.model import HeadEdit

_TORCH_BACKED = {
    "Checkpoint": "models.checkpoint",
    "describe": "models.checkpoint",
    "load_checkpoint": "models.checkpoint",
    "save_checkpoint": "models.checkpoint",
    "detect": "models.importers",
    "import_foreign": "models.importers",
    "load_any": "models.importers",
    "Alignment": "models.data.corpus_en_hi",
    "parse_alignment": "models.data.corpus_en_hi",
    "DataError": "models.data.dataset",
    "Example": "models.data.dataset",
    "make_batch": "models.data.dataset",
    "read_pairs": "models.data.dataset",
    "tokenize_pairs": "models.data.dataset",
    "AlphaEdit": "models.rnn.attention",
    "masked_softmax": "models.rnn.attention",
    "ModelConfig": "models.rnn.config",
    "StepOutput": "models.rnn.decoder",
    "Memory": "models.rnn.encoder",
    "Seq2Seq": "models.rnn.seq2seq",
    "StepModel": "models.step_api",
    "head_layout": "models.step_api",
    "HeadEdit": "models.transformer.model",
    "greedy_batch": "models.training.batch_decode",
}
__getattr__ = lazy_attributes(__name__, _TORCH_BACKED)

__all__ = [
    "HeadEdit",
    "StepModel",
    "head_layout",
    "MAX_SOURCE_CHARS",
    "UnexpectedLoadError",
    "printable_message",
    "shown_token",
    "shown_value",
    "BOS_ID",
    "EOS",
    "EOS_ID",
    "PAD_ID",
    "SPACE_MARK",
    "SPECIALS",
    "UNK",
    "Alignment",
    "AlphaEdit",
    "Checkpoint",
    "CheckpointError",
    "DataError",
    "Example",
    "Memory",
    "ModelConfig",
    "Seq2Seq",
    "StepOutput",
    "Tokenizer",
    "Vocab",
    "atomic_write_bytes",
    "atomic_write_text",
    "describe",
    "detect",
    "greedy_batch",
    "import_foreign",
    "load_any",
    "load_checkpoint",
    "make_batch",
    "masked_softmax",
    "parse_alignment",
    "read_pairs",
    "save_checkpoint",
    "tokenize_pairs",
]
