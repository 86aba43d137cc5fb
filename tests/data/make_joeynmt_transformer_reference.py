"""Make the JoeyNMT transformer fixtures under tests/data/joeynmt/ with JoeyNMT 2.3.0's own code.

Run with a throwaway environment that has the toolkit (never the app's venv), e.g. one that reuses the app's
torch through a .pth file:

    python3.11 -m venv /tmp/joeyvenv
    echo /path/to/attnscope/.venv/lib/python3.11/site-packages > /tmp/joeyvenv/lib/python3.11/site-packages/app.pth
    /tmp/joeyvenv/bin/pip install --no-deps joeynmt==2.3.0 subword-nmt sacremoses
    /tmp/joeyvenv/bin/pip install tensorboard importlib_metadata sentencepiece
    /tmp/joeyvenv/bin/python tests/data/make_joeynmt_transformer_reference.py

For a post-LN and a pre-LN transformer it
1. writes the toy corpus (reverse the words and upper-case them),
2. trains briefly with `python -m joeynmt train` (config.yaml, N.ckpt with best.ckpt a symlink, vocabularies),
3. greedy-decodes three probe sentences with `joeynmt.search.transformer_greedy`, then feeds each output back
   through the decoder once and records, with forward hooks on each layer's src_trg_att.softmax, the
   cross-attention of every layer and head (joeynmt returns only the last layer's head mean),
4. copies the model directory and reference.json into tests/data/joeynmt/<name>/.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from reference_common import (
    PROBES,
    build_joeynmt,
    joeynmt_config,
    joeynmt_encode,
    joeynmt_probe,
    load_joeynmt,
    reference_record,
)


def _side(norm: str) -> dict:
    """The encoder's or the decoder's section: both are the same."""
    return {
        "type": "transformer",
        "num_layers": 2,
        "num_heads": 2,
        "hidden_size": 16,
        "ff_size": 32,
        "dropout": 0.1,
        "embeddings": {"embedding_dim": 16, "scale": True},
        "layer_norm": norm,
    }


MODELS = {
    name: {"encoder": _side(norm), "decoder": _side(norm)}
    for name, norm in (("transformer_post", "post"), ("transformer_pre", "pre"))
}


def config(root: Path, name: str, model: dict) -> dict:
    return joeynmt_config(root, name, model, learning_rate=0.005, epochs=20)


def reference(model_dir: Path) -> dict:
    from joeynmt.search import transformer_greedy

    model, src_vocab, trg_vocab, tokenizer = load_joeynmt(model_dir)
    captured: list = []
    for layer in model.decoder.layers:
        layer.src_trg_att.softmax.register_forward_hook(lambda m, i, o: captured.append(o))
    probes = []
    for text in PROBES:
        ids, mask, enc_out, enc_hidden = joeynmt_encode(model, src_vocab, tokenizer, text)
        with torch.no_grad():
            out, _, _ = transformer_greedy(mask, 20, model, enc_out, enc_hidden)
            probe = joeynmt_probe(text, ids, out, src_vocab, trg_vocab)
            ys = torch.tensor([[trg_vocab.bos_index, *probe["output_ids"][:-1]]])
            captured.clear()
            model(
                return_type="decode",
                trg_input=ys,
                encoder_output=enc_out,
                encoder_hidden=None,
                src_mask=mask,
                unroll_steps=None,
                decoder_hidden=None,
                trg_mask=(ys != trg_vocab.pad_index).unsqueeze(1),
            )
        cross = torch.stack(captured, 1)[0].permute(2, 0, 1, 3)  # (H per layer) → (U, L, H, T)
        probes.append({**probe, "cross_attention": cross.tolist()})
    decoder = (
        "joeynmt.search.transformer_greedy (max_output_length 20, min_output_length 1); cross-attention of every "
        "layer and head from the decoder's forward over the output (softmax hooks)"
    )
    return reference_record("joeynmt", "2.3.0", decoder, probes)


if __name__ == "__main__":
    for model_name, spec in MODELS.items():
        build_joeynmt(model_name, json.loads(json.dumps(spec)), config, reference)
