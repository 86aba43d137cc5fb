"""Make the OpenNMT-py fixtures under tests/data/opennmt/ with OpenNMT-py 3.5.1's own code.

Run with a throwaway environment that has the toolkit (never the app's venv). OpenNMT-py 3.5.1
pins torch<2.3, so install it beside torch 2.13 without letting pip replace torch:

    python3.11 -m venv /tmp/onmtvenv
    /tmp/onmtvenv/bin/pip install torch==2.13.0
    /tmp/onmtvenv/bin/pip install opennmt-py==3.5.1      # pulls torch 2.2.2 ...
    /tmp/onmtvenv/bin/pip install torch==2.13.0          # ... so put 2.13.0 back
    /tmp/onmtvenv/bin/python tests/data/make_opennmt_reference.py

For each small RNN configuration it writes a toy corpus (reverse the words, upper-case them),
runs `onmt_build_vocab` and `onmt_train` (the toolkit's own trainer and checkpoint format), then
translates three probe sentences with the toolkit's translator (`-beam_size 1`: GreedySearch),
capturing each step's attention weights with a forward hook on `model.decoder.attn`, and writes
model.pt + reference.json to tests/data/opennmt/<name>/.

OpenNMT-py 3.5.1's own loader calls torch.load without weights_only, which torch >= 2.6 refuses
for its argparse.Namespace; the script sets TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 for the translator
only, on the checkpoint it has just trained itself. (attnscope never does that: it allowlists
argparse.Namespace alone.)
"""

from __future__ import annotations

import sys
from pathlib import Path

from reference_common import PROBES, build_opennmt, opennmt_engine, reference_record

MODELS = {
    # bidirectional GRU, MLP (Bahdanau-style) attention, input feeding (InputFeedRNNDecoder)
    "brnn_gru_mlp": {"encoder_type": "brnn", "rnn_type": "GRU", "global_attention": "mlp", "input_feed": 1},
    # 2-layer LSTM, general attention, bridge, no input feeding (StdRNNDecoder)
    "rnn_lstm_general": {
        "encoder_type": "rnn",
        "rnn_type": "LSTM",
        "layers": 2,
        "global_attention": "general",
        "input_feed": 0,
        "bridge": True,
    },
    # bidirectional LSTM, dot attention, input feeding
    "brnn_lstm_dot": {"encoder_type": "brnn", "rnn_type": "LSTM", "global_attention": "dot", "input_feed": 1},
}


def reference(model_path: Path, root: Path) -> dict:
    engine = opennmt_engine(model_path, root)
    steps: list[list[float]] = []
    engine.translator.model.decoder.attn.register_forward_hook(lambda m, i, o: steps.append(o[1].reshape(-1).tolist()))
    out = []
    for text in PROBES:  # one sentence at a time: one decoder call per greedy step
        steps.clear()
        _, predictions = engine.infer_list([text])
        tokens = predictions[0][0].split(" ") + ["</s>"]
        assert len(steps) == len(tokens) or len(tokens) > 20, (len(steps), tokens)
        rows = steps[: len(tokens)]
        out.append({"source": text, "source_tokens": text.split(" "), "output_tokens": tokens, "alpha": rows})
    engine.terminate()
    decoder = "onmt Translator, -beam_size 1 (GreedySearch), -max_length 20"
    return reference_record("opennmt-py", "3.5.1", decoder, out)


if __name__ == "__main__":
    names = sys.argv[1:] or list(MODELS)
    for model_name in names:
        build_opennmt(model_name, dict(MODELS[model_name]), reference)
