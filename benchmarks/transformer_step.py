"""What do the heads cost? A Hugging Face model decoded by the engine against a bare cached loop; and the memory
of a long decode against the size of its records.

    python benchmarks/transformer_step.py [--repeats 5] [--d-model 512] [--vocab 8000]

"hf_step_overhead_ratio": a Marian-shaped model with random weights (6+6 layers, 8 heads, d_model 512,
made and saved to a temporary folder: nothing is downloaded), a 50-token input, greedy.  "streamed": the
engine's decode with a DecodeControl attached, as the app's engine thread runs it, every record (every
layer's and head's cross-attention, scores, contexts, value-weighted norms, top-k) made.  "bare": the
same model object's encoder once, then the same number of cached steps of its own forward (eager
attention, the cache as generate() keeps it) with argmax feedback and nothing kept.  Interleaved, one
intra-op thread; the ratio is the median of the paired runs' ratios (target ≤ 1.10).

"200x200": our own transformer (6+6 layers, 8 heads, d_model 512, random weights) forced through a
199-token reference (200 steps with <eos>) over a 200-token source.  decode_peak_mb is the rise of the
process's peak resident memory during it (after a warm-up decode); records_mb the memory the records and
the result hold (numpy buffers, each counted once), records_raw_mb the float32 size of what they carry
(every head's α, e, norms and contexts; α, e, c, s; entropy, top-k), records_to_raw_ratio the two's
quotient (target ≤ 2), for the streamed decode (records in runs of about a frame, the result's matrices one
concatenation of them) and for an unwatched `run` (one block, the result's matrices views of it).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from engine.decoding.control import DecodeControl  # noqa: E402
from engine.decoding.device import prepare_thread  # noqa: E402
from engine.decoding.session import InferenceSession  # noqa: E402
from engine.records import DecodeResult, StepRecord  # noqa: E402
from engine.requests import DecodeRequest  # noqa: E402
from models.checkpoint import Checkpoint  # noqa: E402
from models.tokens import BOS_ID, SPECIALS, Tokenizer, Vocab  # noqa: E402
from models.transformer.config import TransformerConfig  # noqa: E402
from models.transformer.model import TransformerSeq2Seq  # noqa: E402


def marian_folder(folder: Path, d_model: int, vocab: int) -> Path:
    from tokenizers import Tokenizer as WordTokenizer
    from tokenizers import models, pre_tokenizers, processors
    from transformers import GenerationConfig, MarianConfig, MarianMTModel, PreTrainedTokenizerFast

    pieces = ["</s>", "<unk>", *(f"w{i}" for i in range(vocab - 3)), "<pad>"]
    tok = WordTokenizer(models.WordLevel({p: i for i, p in enumerate(pieces)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 0)])
    torch.manual_seed(0)
    config = MarianConfig(
        vocab_size=vocab, d_model=d_model, encoder_layers=6, decoder_layers=6, encoder_attention_heads=8,
        decoder_attention_heads=8, encoder_ffn_dim=4 * d_model, decoder_ffn_dim=4 * d_model,
        max_position_embeddings=512, pad_token_id=vocab - 1, eos_token_id=0, decoder_start_token_id=vocab - 1,
    )  # fmt: skip
    model = MarianMTModel(config).eval()
    model.generation_config = GenerationConfig(decoder_start_token_id=vocab - 1, eos_token_id=0, pad_token_id=vocab - 1)
    model.save_pretrained(folder)
    PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="</s>", unk_token="<unk>", pad_token="<pad>"
    ).save_pretrained(folder)
    return folder


def bare_loop(session: InferenceSession, source: str, steps: int) -> None:
    """The model's own encoder, then `steps` cached steps of its own forward, argmax fed back."""
    adapter = session.model
    hf = adapter.hf  # type: ignore[attr-defined]
    ids = session.checkpoint.src_vocab.encode(session.checkpoint.src_tokenizer.tokenize(source))
    with torch.inference_mode():
        src = adapter.to_hf[torch.tensor([ids])]  # type: ignore[attr-defined]
        mask = torch.ones_like(src)
        states = hf.get_encoder()(input_ids=src, attention_mask=mask).last_hidden_state
        prev = torch.full((1, 1), hf.config.decoder_start_token_id, dtype=torch.long)
        cache = None
        for _ in range(steps):
            out = hf(encoder_outputs=(states,), attention_mask=mask, decoder_input_ids=prev, use_cache=True,
                     **{adapter._cache_kw: cache})  # type: ignore[attr-defined]  # fmt: skip
            cache = out["cache"] if "cache" in out else out["past_key_values"]
            prev = out.logits[:, -1].argmax(-1, keepdim=True)


def streamed(session: InferenceSession, request: DecodeRequest, control: DecodeControl) -> list[object]:
    control.begin(request.request_id)
    return list(session.decode(request, control))


def timed(run: object) -> float:
    start = time.perf_counter()
    run()  # type: ignore[operator]
    return time.perf_counter() - start


def hf_overhead(repeats: int, d_model: int, vocab: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        session = InferenceSession.open(marian_folder(Path(tmp), d_model, vocab), "cpu")
    prepare_thread(session.device)
    source = " ".join(f"w{(7 * i) % (vocab - 3)}" for i in range(49))  # 49 words + </s>: 50 source tokens
    request = DecodeRequest(1, source, max_len=50)
    control = DecodeControl()
    steps = len(streamed(session, request, control)) - 1  # warm-up; the bare loop repeats its step count
    bare_loop(session, source, steps)
    engine, bare = [], []
    for _ in range(repeats):
        engine.append(timed(lambda: streamed(session, request, control)))
        bare.append(timed(lambda: bare_loop(session, source, steps)))
    print(f"hf_model=marian-shaped, random weights, 6+6 layers, 8 heads, d_model {d_model}, vocabulary {vocab}")
    print(f"hf_source_tokens={len(session.checkpoint.src_tokenizer.tokenize(source))}")
    print(f"hf_steps={steps}")
    print(f"hf_engine_step_ms={statistics.median(engine) / steps * 1e3:.2f}")
    print(f"hf_bare_step_ms={statistics.median(bare) / steps * 1e3:.2f}")
    print(f"hf_step_overhead_ratio={statistics.median(e / b for e, b in zip(engine, bare, strict=True)):.3f}")


def long_decode_memory() -> None:
    vocab = Vocab(SPECIALS + tuple(f"w{i}" for i in range(300)))
    config = TransformerConfig(len(vocab), len(vocab), d_model=512, heads=8, enc_layers=6, dec_layers=6, ffn_dim=2048)
    torch.manual_seed(0)
    session = InferenceSession(Checkpoint(TransformerSeq2Seq(config).eval(), vocab, vocab, Tokenizer(), Tokenizer()))
    source = " ".join(f"w{i}" for i in range(200))
    request = DecodeRequest(1, source, strategy="forced", target=" ".join(f"w{i % 300}" for i in range(7, 206)))
    control = DecodeControl()
    streamed(session, DecodeRequest(1, "w1 w2", strategy="forced", target="w3"), control)  # warm-up
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    items = streamed(session, request, control)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before  # KiB on Linux
    records = [i for i in items if isinstance(i, StepRecord)]
    result = next(i for i in items if isinstance(i, DecodeResult))
    held = _buffers(records, result)
    layers, heads, width = config.head_layout
    source_len, steps, top_k = len(result.source_tokens), len(records), len(records[0].topk)
    per_step = 3 * layers * heads * source_len + layers * heads * width + 2 * source_len + 2 * config.d_model
    raw = steps * (per_step + 1 + 2 * top_k) * 4
    print(f"decode_200x200_steps={steps}")
    print(f"decode_200x200_source_tokens={source_len}")
    print(f"decode_peak_mb={peak / 1024:.1f}")
    print(f"records_mb={held / 2**20:.1f}")
    print(f"records_raw_mb={raw / 2**20:.1f}")
    print(f"records_to_raw_ratio={held / raw:.2f}")
    unwatched = session.run(request)  # no one watches: one host block, the result's matrices are views of it
    print(f"records_to_raw_ratio_unwatched_run={_buffers([], unwatched) / raw:.2f}")


def _buffers(records: list[StepRecord], result: DecodeResult) -> int:
    """Bytes of the numpy buffers the records and the result keep alive, each buffer counted once."""
    seen: dict[int, int] = {}

    def add(array: object) -> None:
        if isinstance(array, np.ndarray):
            base = array
            while isinstance(base.base, np.ndarray):
                base = base.base
            seen[id(base)] = base.nbytes

    for r in records:
        for a in (r.alpha, r.scores, r.context, r.state, *(r.heads or ())):
            add(a)
    for a in (result.alpha, result.scores, result.context, result.states, result.encoder_states, result.token_probs):
        add(a)
    for a in result.heads or ():
        add(a)
    return sum(seen.values())


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--d-model", type=int, default=512)
    p.add_argument("--vocab", type=int, default=8000)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    print(f"threads={torch.get_num_threads()}")
    long_decode_memory()  # first: the process's peak resident memory only rises, so nothing may run before it
    try:
        import transformers  # noqa: F401
    except ImportError:
        print("hf_step_overhead_ratio=skipped (transformers is not installed: pip install -e '.[hf]')")
    else:
        hf_overhead(args.repeats, args.d_model, args.vocab)
    return 0


if __name__ == "__main__":
    assert BOS_ID == 1
    sys.exit(main(sys.argv[1:]))
