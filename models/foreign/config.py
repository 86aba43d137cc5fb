"""ForeignConfig: ModelConfig plus the explicit switches that other toolkits' RNN models differ in.

Every switch names one equation choice (see docs in ForeignSeq2Seq); together with the sizes they
fully determine the module, so a converted file is rebuilt from its metadata alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from models.rnn.config import ConfigError, ModelConfig, check_choices, check_ranges

TOOLKITS = ("joeynmt", "opennmt-py", "pytorch-tutorial")
QUERIES = ("new", "prev")  # attend with s_i (after the RNN step) or s_{i-1} (before it)
RNN_INPUTS = ("emb", "emb+feed", "emb+context")  # what the decoder RNN reads besides E y_{i-1}
ATT_VECTORS = ("none", "tanh[s;c]", "[c;s]")  # h̃_i = tanh(W[s;c]+b) (JoeyNMT) | W[c;s](+b)(tanh) (OpenNMT)
INITS = ("zero", "bridge", "last", "final")
GENERAL_ON = ("keys", "query")  # Luong general: s^T (W h) (JoeyNMT) or (W s)^T h (OpenNMT linear_in)
EXTRA_LIMITS = {"enc_hidden_dim": (1, 8192), "tgt_embed_dim": (1, 8192)}
CHOICES = {
    "toolkit": TOOLKITS,
    "query": QUERIES,
    "rnn_input": RNN_INPUTS,
    "att_vector": ATT_VECTORS,
    "init": INITS,
    "general_on": GENERAL_ON,
}


@dataclass(frozen=True)
class ForeignConfig(ModelConfig):
    """`embed_dim` is the source embedding size, `hidden_dim` the decoder's, `attn_dim` the MLP width.

    init: zero | bridge (JoeyNMT: tanh(W [fwd_last; bwd_last] + b), same for every layer) | last
    (JoeyNMT: that final state, its forward half when twice the decoder size) | final (OpenNMT and
    the tutorial: layer l starts from encoder layer l's final state, directions concatenated,
    optionally through OpenNMT's relu bridge when `bridge_relu`).
    """

    toolkit: str = "joeynmt"
    enc_hidden_dim: int = 128  # per direction
    tgt_embed_dim: int = 64
    query: str = "new"
    rnn_input: str = "emb+feed"
    att_vector: str = "tanh[s;c]"
    att_vector_bias: bool = True
    att_vector_tanh: bool = True
    output_bias: bool = False
    init: str = "bridge"
    bridge_relu: bool = False
    attn_query_bias: bool = False
    attn_key_bias: bool = False
    attn_energy_bias: bool = False
    general_on: str = "keys"
    src_emb_scale: bool = False  # JoeyNMT `scale`: multiply embeddings by sqrt(dim)
    tgt_emb_scale: bool = False
    never_generate: tuple[int, ...] = ()  # ids whose logits are -inf (the toolkit never emits them)

    def __post_init__(self) -> None:
        object.__setattr__(self, "never_generate", tuple(self.never_generate))
        super().__post_init__()

    @property
    def enc_out_dim(self) -> int:
        return self.enc_hidden_dim * (2 if self.bidirectional else 1)

    def validate(self) -> None:
        super().validate()
        check_ranges(self, EXTRA_LIMITS)
        check_choices(self, CHOICES)
        self._validate_combinations()

    def _validate_combinations(self) -> None:
        if self.attention == "none":
            raise ConfigError("foreign models need an attention mechanism")
        if self.rnn_input == "emb+feed" and self.att_vector == "none":
            raise ConfigError("input feeding needs an attentional vector (att_vector)")
        if self.query == "prev" and self.rnn_input == "emb+feed":
            raise ConfigError("a previous-state query cannot feed this step's attentional vector")
        if self.att_vector == "[c;s]" and self.enc_out_dim != self.hidden_dim:
            raise ConfigError("OpenNMT's [c;s] output layer needs encoder and decoder widths equal")
        if self.attention == "luong-general" and self.general_on == "query" and self.enc_out_dim != self.hidden_dim:
            raise ConfigError("general attention on the query needs encoder and decoder widths equal")
        if self.init == "final" and self.enc_out_dim != self.hidden_dim:
            raise ConfigError("init 'final' needs the encoder's final state as wide as the decoder's")
        if self.init == "final" and self.enc_layers != self.dec_layers:
            raise ConfigError("init 'final' needs as many encoder layers as decoder layers")
        if self.init in ("bridge", "last") and not self.bidirectional:
            raise ConfigError("init 'bridge'/'last' reads a bidirectional encoder's final state")
        if self.init == "last" and self.enc_out_dim not in (self.hidden_dim, 2 * self.hidden_dim):
            raise ConfigError("init 'last' needs the encoder state as wide as the decoder's, or twice")
        if any(not isinstance(i, int) or not 0 <= i < self.tgt_vocab_size for i in self.never_generate):
            raise ConfigError("never_generate must hold target ids")

    @classmethod
    def from_dict(cls, data: Any) -> ForeignConfig:
        config = super().from_dict(data)
        assert isinstance(config, ForeignConfig)
        return config
