"""Make the JoeyNMT fixtures under tests/data/joeynmt/ with JoeyNMT 2.3.0's own code.

Run with a throwaway environment that has the toolkit (never the app's venv):

    python3.11 -m venv /tmp/joeyvenv
    /tmp/joeyvenv/bin/pip install torch==2.13.0 joeynmt==2.3.0 importlib_metadata
    /tmp/joeyvenv/bin/python tests/data/make_joeynmt_reference.py

For each of two small recurrent configurations it
1. writes a toy corpus (reverse the words and upper-case them: needs attention),
2. trains briefly with `python -m joeynmt train` (the toolkit's own trainer and file layout:
   config.yaml, N.ckpt with best.ckpt a symlink to it, src_vocab.txt, trg_vocab.txt),
3. greedy-decodes three probe sentences with `joeynmt.search.recurrent_greedy`, capturing the
   attention weights it returns and, with forward hooks, the context vectors (and the raw Bahdanau
   scores from `energy_layer`),
4. copies the model directory (config.yaml, best.ckpt -> N.ckpt, vocabularies) and reference.json
   into tests/data/joeynmt/<name>/.
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

MODELS = {
    # defaults: bi-GRU, Bahdanau, input feeding, bridge
    "gru_bahdanau": {
        "encoder": {"rnn_type": "gru", "hidden_size": 24, "embeddings": {"embedding_dim": 16}},
        "decoder": {"rnn_type": "gru", "hidden_size": 24, "embeddings": {"embedding_dim": 16}, "attention": "bahdanau"},
    },
    # LSTM, Luong (general), 2 decoder layers, no input feeding, init from the last state, scaled embeddings
    "lstm_luong": {
        "encoder": {
            "rnn_type": "lstm",
            "hidden_size": 16,
            "num_layers": 2,
            "embeddings": {"embedding_dim": 12, "scale": True},
        },
        "decoder": {
            "rnn_type": "lstm",
            "hidden_size": 16,
            "num_layers": 2,
            "embeddings": {"embedding_dim": 10, "scale": True},
            "attention": "luong",
            "input_feeding": False,
            "init_hidden": "last",
        },
    },
}


def config(root: Path, name: str, model: dict) -> dict:
    for part in ("encoder", "decoder"):
        model[part].update({"type": "recurrent", "bidirectional": True} if part == "encoder" else {"type": "recurrent"})
    return joeynmt_config(root, name, model, learning_rate=0.01, epochs=12)


def reference(model_dir: Path) -> dict:
    from joeynmt.search import recurrent_greedy

    model, src_vocab, trg_vocab, tokenizer = load_joeynmt(model_dir)
    captured: dict[str, list] = {"context": [], "scores": []}
    model.decoder.attention.register_forward_hook(lambda m, i, o: captured["context"].append(o[0][0, 0].tolist()))
    if hasattr(model.decoder.attention, "energy_layer"):
        model.decoder.attention.energy_layer.register_forward_hook(
            lambda m, i, o: captured["scores"].append(o[0, :, 0].tolist())
        )
    probes = []
    for text in PROBES:
        captured["context"].clear()
        captured["scores"].clear()
        ids, mask, enc_out, enc_hidden = joeynmt_encode(model, src_vocab, tokenizer, text)
        with torch.no_grad():
            out, _, att = recurrent_greedy(mask, 20, model, enc_out, enc_hidden)
        probe = joeynmt_probe(text, ids, out, src_vocab, trg_vocab)
        n = len(probe["output_ids"])
        probe.update(
            alpha=torch.as_tensor(att[0, :n]).tolist(), context=captured["context"][:n], scores=captured["scores"][:n]
        )
        probes.append(probe)
    decoder = "joeynmt.search.recurrent_greedy (max_output_length 20, min_output_length 1)"
    return reference_record("joeynmt", "2.3.0", decoder, probes)


if __name__ == "__main__":
    for model_name, spec in MODELS.items():
        build_joeynmt(model_name, json.loads(json.dumps(spec)), config, reference)
