"""The training loop: teacher forcing through decode_step, validation, early stopping, checkpointing."""

from __future__ import annotations

import math
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from models.checkpoint import Checkpoint, save_checkpoint
from models.data.dataset import Example, batches, make_batch, read_pairs, tokenize_pairs
from models.registry import build_model
from models.rnn.config import ModelConfig
from models.step_api import StepModel
from models.tokens import PAD_ID, Tokenizer, Vocab
from models.training.batch_decode import greedy_batch
from models.transformer.config import TransformerConfig


@dataclass
class TrainOptions:
    data: list[Path]
    valid: Path
    out: Path
    arch: str = "rnn"  # "rnn" or "transformer"
    attention: str = "bahdanau"
    rnn: str = "gru"
    tokenizer: str = "word"
    embed_dim: int = 64
    hidden_dim: int = 128
    attn_dim: int = 128
    enc_layers: int = 1
    dec_layers: int = 1
    bidirectional: bool = True
    dropout: float = 0.1
    d_model: int = 128  # transformer sizes and order (Vaswani et al. 2017)
    heads: int = 4
    ffn_dim: int = 512
    norm: str = "post"
    warmup: int = 0  # updates of linear learning-rate warm-up (0: none)
    epochs: int = 20
    batch_size: int = 64
    lr: float = 2e-3
    lr_decay: float = 1.0  # multiply the learning rate by this after an epoch without a better validation loss
    clip: float = 1.0
    patience: int = 3
    min_delta: float = 0.0  # a validation loss counts as better only when this much below the last better one
    seed: int = 1
    device: str = "cpu"
    threads: int = 0
    min_freq: int = 1
    max_steps: int = 0  # stop after this many updates (0 = no limit); for quick tests
    quiet: bool = False
    command: str = field(default="")


@dataclass
class EpochResult:
    epoch: int
    train_loss: float
    valid_loss: float
    exact_match: float
    seconds: float
    lr: float = 0.0  # the learning rate this epoch trained with


def train(opts: TrainOptions) -> Checkpoint:
    """Train a model as `opts` describe and write the best one (by validation loss) to opts.out."""
    _seed_everything(opts.seed)
    if opts.threads:
        torch.set_num_threads(opts.threads)
    tok = Tokenizer(kind=opts.tokenizer)
    train_ex = tokenize_pairs([pair for path in opts.data for pair in read_pairs(path)], tok, tok)
    valid_ex = tokenize_pairs(read_pairs(opts.valid), tok, tok)
    src_vocab = Vocab.build((e.source for e in train_ex), opts.min_freq)
    tgt_vocab = Vocab.build((e.target for e in train_ex), opts.min_freq)
    model = build_model(_config(opts, len(src_vocab), len(tgt_vocab))).to(opts.device)
    ckpt = Checkpoint(model, src_vocab, tgt_vocab, tok, tok)
    history, best_state, stopped_by = _fit(opts, ckpt, train_ex, valid_ex)
    ckpt.training = {**_summary(opts, ckpt, history, len(train_ex), len(valid_ex)), "stopped_by": stopped_by}
    best = min(history, key=lambda r: r.valid_loss)
    model.load_state_dict(best_state)  # the best epoch's weights, not the last
    model.eval()
    save_checkpoint(ckpt, opts.out)
    _log(
        opts,
        f"best epoch {best.epoch}: valid loss {best.valid_loss:.4f}, exact match {best.exact_match:.2%} → {opts.out}",
    )
    return ckpt


def _fit(
    opts: TrainOptions, ckpt: Checkpoint, train_ex: list[Example], valid_ex: list[Example]
) -> tuple[list[EpochResult], dict[str, torch.Tensor], str]:
    """Epochs until early stopping, the epoch cap or the update limit; returns the history, the best
    epoch's weights (the earliest lowest validation loss) and why it stopped."""
    model = ckpt.model
    best_state: dict[str, torch.Tensor] = {}
    optimiser = torch.optim.Adam(model.parameters(), lr=opts.lr)
    warmup = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: min(1.0, (step + 1) / max(opts.warmup, 1)))
    # patience=0: every epoch that does not count as better (by min_delta, as for early stopping) lowers the rate.
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau
    schedule = (
        plateau(optimiser, factor=opts.lr_decay, patience=0, threshold=opts.min_delta, threshold_mode="abs")
        if opts.lr_decay < 1
        else None
    )
    loss_fn = nn.CrossEntropyLoss(ignore_index=PAD_ID)
    rng = random.Random(opts.seed)
    history: list[EpochResult] = []
    steps = 0
    for epoch in range(1, opts.epochs + 1):
        start = time.perf_counter()
        model.train()
        total, count = 0.0, 0
        n_batches = math.ceil(len(train_ex) / opts.batch_size)
        bar = tqdm(
            batches(train_ex, opts.batch_size, rng),
            total=n_batches,
            desc=f"epoch {epoch}",
            disable=opts.quiet,
            file=sys.stderr,
        )
        for chunk in bar:
            batch = make_batch(chunk, ckpt.src_vocab, ckpt.tgt_vocab).to(opts.device)
            logits, _ = model(batch.src, batch.lengths, batch.tgt_in)
            loss = loss_fn(logits.reshape(-1, logits.shape[-1]), batch.tgt_out.reshape(-1))
            optimiser.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), opts.clip)
            optimiser.step()
            if steps < opts.warmup:  # after it, the rate is the plateau schedule's alone (warmup would reset it)
                warmup.step()
            total, count, steps = total + loss.item(), count + 1, steps + 1
            bar.set_postfix(loss=f"{total / count:.3f}")
            if opts.max_steps and steps >= opts.max_steps:
                break
        valid_loss, exact = evaluate_loss_and_exact(
            model, ckpt.src_vocab, ckpt.tgt_vocab, valid_ex, opts.batch_size, opts.device
        )
        train_loss, lr = total / max(count, 1), optimiser.param_groups[0]["lr"]
        history.append(EpochResult(epoch, train_loss, valid_loss, exact, time.perf_counter() - start, lr))
        _log(opts, f"epoch {epoch}: train loss {train_loss:.4f}  valid loss {valid_loss:.4f}  exact match {exact:.2%}")
        if schedule is not None:
            schedule.step(valid_loss)
        if valid_loss < min((r.valid_loss for r in history[:-1]), default=math.inf):  # ties keep the earlier epoch
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            # Save every new best at once: an interrupted run still leaves a usable model.
            ckpt.training = _summary(opts, ckpt, history, len(train_ex), len(valid_ex))
            save_checkpoint(ckpt, opts.out)
        if _should_stop(history, opts.patience, opts.min_delta):
            by = f" by more than {opts.min_delta}" if opts.min_delta else ""
            return history, best_state, f"early stopping (no validation loss better{by} for {opts.patience} epochs)"
        if opts.max_steps and steps >= opts.max_steps:
            return history, best_state, f"the update limit ({opts.max_steps} updates)"
    return history, best_state, f"the {opts.epochs}-epoch cap"


@torch.no_grad()
def evaluate_loss_and_exact(
    model: StepModel, src_vocab: Vocab, tgt_vocab: Vocab, examples: Sequence[Example], batch_size: int, device: str
) -> tuple[float, float]:
    """Teacher-forced loss per token and greedy exact-match rate."""
    model.eval()
    loss_fn = nn.CrossEntropyLoss(ignore_index=PAD_ID, reduction="sum")
    loss_sum, tokens, correct = 0.0, 0, 0
    for chunk in batches(examples, batch_size):
        batch = make_batch(chunk, src_vocab, tgt_vocab).to(device)
        logits, _ = model(batch.src, batch.lengths, batch.tgt_in)
        loss_sum += loss_fn(logits.reshape(-1, logits.shape[-1]), batch.tgt_out.reshape(-1)).item()
        tokens += int((batch.tgt_out != PAD_ID).sum())
        hyps, _ = greedy_batch(model, batch.src, batch.lengths, max_len=batch.tgt_out.shape[1] + 10)
        correct += sum(tgt_vocab.decode(h) == ex.target for h, ex in zip(hyps, chunk, strict=True))
    return loss_sum / max(tokens, 1), correct / max(len(examples), 1)


def _should_stop(history: list[EpochResult], patience: int, min_delta: float = 0.0) -> bool:
    """True once `patience` epochs have passed since the last one that counted as better.

    An epoch counts as better when its validation loss is more than `min_delta` below the loss of the
    last epoch that counted (small gains add up until they pass it), as Keras's EarlyStopping does.
    """
    reference, last = math.inf, 0
    for index, result in enumerate(history):
        if result.valid_loss < reference - min_delta:
            reference, last = result.valid_loss, index
    return len(history) - 1 - last >= patience


def _config(opts: TrainOptions, src_size: int, tgt_size: int) -> ModelConfig | TransformerConfig:
    if opts.arch == "transformer":
        return TransformerConfig(
            src_vocab_size=src_size,
            tgt_vocab_size=tgt_size,
            d_model=opts.d_model,
            heads=opts.heads,
            enc_layers=opts.enc_layers,
            dec_layers=opts.dec_layers,
            ffn_dim=opts.ffn_dim,
            dropout=opts.dropout,
            norm=opts.norm,
            final_norm=opts.norm == "pre",
        )
    return ModelConfig(
        src_vocab_size=src_size,
        tgt_vocab_size=tgt_size,
        embed_dim=opts.embed_dim,
        hidden_dim=opts.hidden_dim,
        enc_layers=opts.enc_layers,
        dec_layers=opts.dec_layers,
        rnn=opts.rnn,
        bidirectional=opts.bidirectional,
        attention=opts.attention,
        attn_dim=opts.attn_dim,
        dropout=opts.dropout,
    )


def _summary(
    opts: TrainOptions, ckpt: Checkpoint, history: list[EpochResult], n_train: int, n_valid: int
) -> dict[str, Any]:
    best = min(history, key=lambda r: r.valid_loss)
    return {
        "command": opts.command,
        "seed": opts.seed,
        "train_pairs": n_train,
        "valid_pairs": n_valid,
        "parameters": ckpt.model.parameter_count(),
        "epochs_run": len(history),
        "epoch_cap": opts.epochs,
        "patience": opts.patience,
        "min_delta": opts.min_delta,
        "lr": opts.lr,
        "lr_decay": opts.lr_decay,
        "warmup": opts.warmup,
        "batch_size": opts.batch_size,
        "clip": opts.clip,
        "best_epoch": best.epoch,
        "valid_loss": round(best.valid_loss, 5),
        "valid_exact_match": round(best.exact_match, 5),
        "seconds": round(sum(r.seconds for r in history), 1),
        "torch": torch.__version__,
        "history": [asdict(r) for r in history],
    }


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


def _log(opts: TrainOptions, message: str) -> None:
    if not opts.quiet:
        print(message, file=sys.stderr, flush=True)
