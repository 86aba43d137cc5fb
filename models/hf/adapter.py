"""HFSeq2Seq: a Hugging Face encoder–decoder run step by step through attnscope's step API, with every
decoder layer's and head's cross-attention in each step's output.

The model runs its own code: its encoder once, then its own forward one token at a time with its own
key/value cache, as `generate()` does.  Attention goes through one registered attention function
("attnscope_probe"), the eager equation (softmax(q·kᵀ·scale + bias + mask) v) that also hands the
cross-attention's pre-softmax scores, weights and per-head contexts to the step being decoded, and
lets a what-if edit replace the weights before they multiply the values.  Outside a step it is plain
eager attention.  A forward hook keeps each cross-attention block's output.

Ids: the model's vocabulary is re-indexed so attnscope's specials come first (<pad>, <bos> = the
decoder start token, <eos>, <unk>), as the toolkit importers do; the tokens show the model's pieces
with its pad / end / unknown pieces under those names.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn
from transformers import AttentionInterface
from transformers.masking_utils import AttentionMaskInterface, eager_mask

from models.tokens import BOS, EOS, PAD, SPECIALS, UNK, Tokenizer
from models.transformer.config import MultiHeadConfig
from models.transformer.model import HeadEdit, HeadOutput, TransformerStepOutput, value_norms

PROBE = "attnscope_probe"
# model_type → (decoder layer list, cross-attention, self-attention, value projection, output projection)
SITES = {
    **{
        t: ("model.decoder.layers", "encoder_attn", "self_attn", "v_proj", "out_proj")
        for t in ("marian", "bart", "mbart", "m2m_100")
    },
    **{t: ("decoder.block", "layer.1.EncDecAttention", "layer.0.SelfAttention", "v", "o") for t in ("t5", "mt5")},
}


class _Recorder:
    """What one forward call's attention sites saw; the edit applies to cross-attention weights."""

    def __init__(self, sites: dict[nn.Module, tuple[str, int]], layers: int, edit: HeadEdit | None, mask: Tensor):
        self.sites, self.edit, self.mask = sites, edit, mask
        self.cross: list[tuple[Tensor, Tensor, Tensor] | None] = [None] * layers  # scores, α, contexts
        self.outputs: list[Tensor | None] = [None] * layers
        self.self_weights: list[Tensor | None] = [None] * layers

    def weights(self, module: nn.Module, scores: Tensor, weights: Tensor) -> Tensor:
        site = self.sites.get(module)
        if site is None:
            return weights
        kind, layer = site
        if kind == "self":
            self.self_weights[layer] = weights
        elif self.edit is not None:  # (B, H, Tq, T): one query per step
            weights = self.edit(layer, scores[:, :, -1], weights[:, :, -1], self.mask).unsqueeze(2)
        return weights

    def contexts(self, module: nn.Module, scores: Tensor, weights: Tensor, contexts: Tensor) -> None:
        site = self.sites.get(module)
        if site is not None and site[0] == "cross":
            self.cross[site[1]] = (scores, weights, contexts)

    def output(self, module: nn.Module, output: Tensor) -> None:
        site = self.sites.get(module)
        if site is not None and site[0] == "cross":
            self.outputs[site[1]] = output


_RECORDER: ContextVar[_Recorder | None] = ContextVar("attnscope_recorder", default=None)


def probe_attention(
    module: nn.Module,
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attention_mask: Tensor | None,
    scaling: float | None = None,
    dropout: float = 0.0,
    position_bias: Tensor | None = None,
    **kwargs: Any,
) -> tuple[Tensor, Tensor]:
    """The models' eager attention (T5's position bias included), with the recorder's view of it."""
    if scaling is None:
        scaling = query.size(-1) ** -0.5
    scores = torch.matmul(query, key.transpose(2, 3)) * scaling
    if position_bias is not None:
        scores = scores + position_bias
    weights = scores if attention_mask is None else scores + attention_mask
    weights = nn.functional.dropout(nn.functional.softmax(weights, dim=-1), p=dropout, training=module.training)
    recorder = _RECORDER.get()
    if recorder is not None:
        weights = recorder.weights(module, scores, weights)
    contexts = torch.matmul(weights, value)
    if recorder is not None:
        recorder.contexts(module, scores, weights, contexts)
    return contexts.transpose(1, 2).contiguous(), weights


AttentionInterface.register(PROBE, probe_attention)
AttentionMaskInterface.register(PROBE, eager_mask)


def _keep_output(module: nn.Module, args: Any, output: Any) -> None:
    recorder = _RECORDER.get()
    if recorder is not None:
        recorder.output(module, output[0])


@dataclass(frozen=True)
class HFConfig(MultiHeadConfig):
    """What the engine reads from a model's config, for a Hugging Face model."""

    model_type: str
    d_model: int
    enc_layers: int
    dec_layers: int
    heads: int
    head_dim: int
    src_vocab_size: int
    tgt_vocab_size: int

    @property
    def head_layout(self) -> tuple[int, int, int]:
        return self.dec_layers, self.heads, self.head_dim  # T5's d_kv need not be d_model / heads

    def describe(self) -> dict[str, Any]:
        return {
            "architecture": f"Hugging Face {self.model_type} (its own code)",
            "attention": f"multi-head, {self.heads} heads × {self.dec_layers} decoder layers",
            # Loaded with "eager", then run through PROBE: the same eager equation, its weights recorded.
            "attn_implementation": "eager",
            "layers": f"{self.enc_layers} enc / {self.dec_layers} dec",
            "heads": self.heads,
            "d_model": self.d_model,
        }


@dataclass(frozen=True)
class HFMemory:
    states: Tensor  # (B, T, d) the encoder's last hidden state
    mask: Tensor  # (B, T) True at real tokens
    value_norms: Tensor  # (B, L, H, T) ‖W_O^h v_j‖ per decoder layer's cross-attention

    def select(self, index: Tensor) -> HFMemory:
        return HFMemory(self.states[index], self.mask[index], self.value_norms[index])


@dataclass(frozen=True)
class HFState:
    """The model's own cache; a step extends it in place (each state is used once, as the strategies do)."""

    cache: Any
    position: int

    def select(self, index: Tensor) -> HFState:
        if self.cache is not None:
            self.cache.reorder_cache(index)  # in place: the state this came from is not used again
        return HFState(self.cache, self.position)


class HFSeq2Seq(nn.Module):
    """The step API over a transformers AutoModelForSeq2SeqLM (attention implementation set to the probe)."""

    to_hf: Tensor
    from_hf: Tensor
    forbidden: Tensor

    def __init__(
        self, model: Any, config: HFConfig, to_hf: Sequence[int], from_hf: Sequence[int], forced_bos: int | None
    ):
        super().__init__()
        self.hf = model
        self.config = config
        self.register_buffer("to_hf", torch.tensor(to_hf, dtype=torch.long), persistent=False)  # our id → theirs
        rows = torch.tensor(from_hf, dtype=torch.long)  # per our id, their logit row; -1: never generated
        self.register_buffer("from_hf", rows.clamp(min=0), persistent=False)
        self.register_buffer("forbidden", rows < 0, persistent=False)
        self.forced_bos = forced_bos  # our id the first step must take (the generation config's forced_bos_token_id)
        layers_path, cross, self_attn, value, out = SITES[config.model_type]
        self._sites: dict[nn.Module, tuple[str, int]] = {}
        self._cross: list[nn.Module] = []
        for layer, block in enumerate(model.get_submodule(layers_path)):
            attention = block.get_submodule(cross)
            self._sites[attention] = ("cross", layer)
            self._sites[block.get_submodule(self_attn)] = ("self", layer)
            self._cross.append(attention)
            attention.register_forward_hook(_keep_output)
        self._value, self._out = value, out
        # transformers renamed past_key_values to cache (5.2x): pass the cache by whichever name this version takes
        self._cache_kw = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.hf.parameters())

    def _recorder(self, edit: HeadEdit | None, mask: Tensor) -> _Recorder:
        return _Recorder(self._sites, self.config.dec_layers, edit, mask)

    def encode(self, src: Tensor, lengths: Tensor) -> HFMemory:
        mask = torch.arange(src.shape[1], device=src.device).unsqueeze(0) < lengths.to(src.device).unsqueeze(1)
        states = self.hf.get_encoder()(input_ids=self.to_hf[src], attention_mask=mask.long()).last_hidden_state
        norms = []
        for attention in self._cross:
            v = getattr(attention, self._value)(states)
            v = v.view(v.shape[0], v.shape[1], self.config.heads, self.config.head_dim).transpose(1, 2)
            norms.append(value_norms(v, getattr(attention, self._out).weight))
        return HFMemory(states, mask, torch.stack(norms, 1))

    def init_state(self, memory: HFMemory) -> HFState:
        return HFState(None, 0)

    def decode_step(
        self, prev_token: Tensor, state: HFState, memory: HFMemory, edit: HeadEdit | None = None
    ) -> TransformerStepOutput:
        recorder = self._recorder(edit, memory.mask)
        token = _RECORDER.set(recorder)
        try:
            out = self.hf(
                encoder_outputs=(memory.states,),
                attention_mask=memory.mask.long(),
                decoder_input_ids=self.to_hf[prev_token].unsqueeze(1),
                use_cache=True,
                output_hidden_states=True,
                return_dict=True,
                **{self._cache_kw: state.cache},
            )
        finally:
            _RECORDER.reset(token)
        logits = self._logits(out.logits[:, -1], state.position)
        heads = _heads(recorder, memory.value_norms)
        top = out.decoder_hidden_states[-1][:, -1]
        new_state = HFState(out["cache"] if "cache" in out else out["past_key_values"], state.position + 1)
        last = heads.weights[:, -1]
        return TransformerStepOutput(
            logits, new_state, heads.scores[:, -1].mean(1), last.mean(1), heads.outputs[:, -1], top, heads
        )

    def _logits(self, theirs: Tensor, position: int) -> Tensor:
        """Their logits in our id order; ids the model never generates (or that the generation config
        forbids, or at step 0 all but its forced first token) get -inf."""
        ours = theirs.index_select(-1, self.from_hf).masked_fill(self.forbidden, float("-inf"))
        if position == 0 and self.forced_bos is not None:
            keep = ours[..., self.forced_bos].clone()
            ours = torch.full_like(ours, float("-inf"))
            ours[..., self.forced_bos] = keep
        return ours

    def forward(self, src: Tensor, lengths: Tensor, tgt_in: Tensor) -> tuple[Tensor, Tensor]:
        """Teacher forcing with the model's own forward: → logits (B, U, V) in our ids, α (B, U, T) (the mean
        over the last layer's heads)."""
        mask = torch.arange(src.shape[1], device=src.device).unsqueeze(0) < lengths.to(src.device).unsqueeze(1)
        recorder = self._recorder(None, mask)
        token = _RECORDER.set(recorder)
        try:
            out = self.hf(
                input_ids=self.to_hf[src],
                attention_mask=mask.long(),
                decoder_input_ids=self.to_hf[tgt_in],
                use_cache=False,
                return_dict=True,
            )
        finally:
            _RECORDER.reset(token)
        logits = out.logits.index_select(-1, self.from_hf).masked_fill(self.forbidden, float("-inf"))
        last = recorder.cross[-1]
        assert last is not None
        return logits, last[1].mean(1)


def _heads(recorder: _Recorder, norms: Tensor) -> HeadOutput:
    cross = [c for c in recorder.cross if c is not None]
    outputs = [o for o in recorder.outputs if o is not None]
    selfs = [w for w in recorder.self_weights if w is not None]
    if len(cross) != len(recorder.cross) or len(outputs) != len(cross) or len(selfs) != len(cross):
        raise RuntimeError("the model's attention did not run through attnscope's probe (unsupported model code)")
    weights = torch.stack([c[1][:, :, -1] for c in cross], 1)
    return HeadOutput(
        weights=weights,
        scores=torch.stack([c[0][:, :, -1] for c in cross], 1),
        contexts=torch.stack([c[2][:, :, -1] for c in cross], 1),
        norms=weights * norms,
        outputs=torch.stack([o[:, -1] for o in outputs], 1),
        self_weights=tuple(w[:, :, -1] for w in selfs),
    )


@dataclass(frozen=True, eq=False)
class PieceTokenizer(Tokenizer):
    """The model's own tokenizer: text → its pieces (special tokens included, as the model reads them), with
    its pad / end / unknown / start pieces renamed to attnscope's names.  The target side drops the end token
    (the engine adds <eos> itself) and reads text as a target (`text_target`)."""

    kind: str = "word"
    lowercase: bool = False
    side: str = "source"
    backend: Any = None
    renamed: dict[str, str] = field(default_factory=dict)  # their special piece → our name

    def tokenize(self, text: str) -> list[str]:
        if not text.strip():
            return []
        encoded = self.backend(text) if self.side == "source" else self.backend(text_target=text)
        pieces = [self.renamed.get(p, p) for p in self.backend.convert_ids_to_tokens(encoded["input_ids"])]
        return pieces[:-1] if self.side == "target" and pieces and pieces[-1] == EOS else pieces

    def detokenize(self, tokens: Sequence[str]) -> str:
        ours = {v: k for k, v in self.renamed.items()}
        skip = set(SPECIALS) | set(self.backend.all_special_tokens)
        pieces = [ours.get(t, t) for t in tokens if t not in skip]
        return str(self.backend.convert_tokens_to_string([p for p in pieces if p not in skip])).strip()

    def to_dict(self) -> dict[str, object]:
        return {"kind": "pieces", "tokenizer": tokenizer_name(self.backend), "side": self.side}


def tokenizer_name(backend: Any) -> str:
    """The tokenizer's class and its kind of pieces: "MarianTokenizer (SentencePiece)", "TokenizersBackend (BPE)"."""
    fast = getattr(backend, "backend_tokenizer", None)  # a `tokenizers` Tokenizer: its model is BPE, Unigram, …
    if fast is not None:
        return f"{type(backend).__name__} ({type(fast.model).__name__})"
    spm = any(hasattr(backend, name) for name in ("sp_model", "spm_source"))
    return f"{type(backend).__name__} (SentencePiece)" if spm else type(backend).__name__


OUR_NAMES = {"pad": PAD, "start": BOS, "eos": EOS, "unk": UNK}
