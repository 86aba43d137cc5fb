"""Make the OpenNMT-py transformer fixtures under tests/data/opennmt/ with OpenNMT-py 3.5.1's own code.

Run with a throwaway environment that has the toolkit (never the app's venv), e.g. one that reuses the app's
torch through a .pth file (OpenNMT-py imports spacy and fasttext for transforms these models do not use: empty
stub modules on PYTHONPATH stand in for them):

    python3.11 -m venv /tmp/onmtvenv
    echo /path/to/attnscope/.venv/lib/python3.11/site-packages > /tmp/onmtvenv/lib/python3.11/site-packages/app.pth
    /tmp/onmtvenv/bin/pip install --no-deps opennmt-py==3.5.1
    /tmp/onmtvenv/bin/pip install configargparse tensorboard six pyahocorasick rapidfuzz pyonmttok
    mkdir /tmp/onmtstubs && touch /tmp/onmtstubs/spacy.py /tmp/onmtstubs/fasttext.py
    PYTHONPATH=/tmp/onmtstubs /tmp/onmtvenv/bin/python tests/data/make_opennmt_transformer_reference.py

For two small transformers it writes the toy corpus, runs `onmt_build_vocab` and `onmt_train`, translates the
three probe sentences with the toolkit's translator (`-beam_size 1`: GreedySearch) and records, with forward
hooks on each decoder layer's context_attn.softmax, every layer's and head's cross-attention at each step;
model.pt + reference.json go to tests/data/opennmt/<name>/.  As make_opennmt_reference.py, it lets the
toolkit's own translator load the checkpoint it has just trained with TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from reference_common import PROBES, build_opennmt, opennmt_engine, reference_record

TRANSFORMER = {
    "encoder_type": "transformer",
    "decoder_type": "transformer",
    "layers": 2,
    "hidden_size": 16,
    "enc_hid_size": 16,
    "dec_hid_size": 16,
    "word_vec_size": 16,
    "transformer_ff": 32,
    "heads": 2,
    "position_encoding": True,
    "attention_dropout": [0.0],
    "learning_rate": 0.005,
    "train_steps": 600,
    "save_checkpoint_steps": 600,
    "valid_steps": 600,
}
MODELS = {
    "transformer": TRANSFORMER,  # OpenNMT-py's defaults: no q/k/v/output bias in attention, ReLU
    "transformer_qkvbias_gelu": {**TRANSFORMER, "add_qkvbias": True, "pos_ffn_activation_fn": "gelu"},
}


def reference(model_path: Path, root: Path) -> dict:
    engine = opennmt_engine(model_path, root)
    steps: list[tuple[int, torch.Tensor]] = []
    layers = engine.translator.model.decoder.transformer_layers
    for index, layer in enumerate(layers):
        layer.context_attn.softmax.register_forward_hook(lambda m, i, o, n=index: steps.append((n, o[0, :, -1])))
    out = []
    for text in PROBES:  # one sentence at a time: one decoder call per greedy step
        steps.clear()
        _, predictions = engine.infer_list([text])
        tokens = predictions[0][0].split(" ") + ["</s>"]
        per_step = [[w.tolist() for n, w in steps[k : k + len(layers)]] for k in range(0, len(steps), len(layers))]
        assert len(per_step) == len(tokens) or len(tokens) > 20, (len(per_step), tokens)
        cross = per_step[: len(tokens)]  # (U, L, H, T)
        out.append(
            {"source": text, "source_tokens": text.split(" "), "output_tokens": tokens, "cross_attention": cross}
        )
    engine.terminate()
    decoder = (
        "onmt Translator, -beam_size 1 (GreedySearch), -max_length 20; cross-attention of every layer and head from "
        "context_attn.softmax hooks"
    )
    return reference_record("opennmt-py", "3.5.1", decoder, out)


if __name__ == "__main__":
    names = sys.argv[1:] or list(MODELS)
    for model_name in names:
        build_opennmt(model_name, dict(MODELS[model_name]), reference)
