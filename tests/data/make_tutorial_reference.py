# mypy: disable-error-code="assignment, arg-type"
# (the tutorial code below is kept as the tutorial writes it, including its reuse of variable names)
"""Make the PyTorch-tutorial fixture under tests/data/pytorch_tutorial/.

The model classes below are a faithful copy of the current (batched) version of the PyTorch
tutorial "NLP From Scratch: Translation with a Sequence to Sequence Network and Attention"
(pytorch/tutorials, intermediate_source/seq2seq_translation_tutorial.py, by Sean Robertson,
BSD-3-Clause): EncoderRNN, BahdanauAttention (Wa, Ua, Va), AttnDecoderRNN, plus its
normalizeString, tensorFromSentence and evaluate. Only the data differ: a toy task (reverse the
words and swap each for its partner word) instead of the Anki fra-eng pairs, and a small hidden size.

Training follows the tutorial: inputs and targets padded with 0 (= SOS) to MAX_LENGTH, teacher
forcing, Adam, NLLLoss on every position. The reference is then made with the tutorial's own
`evaluate()` (unpadded sentence + EOS, MAX_LENGTH greedy steps, cut at EOS).

Writes encoder.pt and decoder.pt (state dicts, as tutorial users save them), tutorial.json (the
vocabulary file attnscope reads, see the README) and reference.json.

    /work/main/.venv/bin/python tests/data/make_tutorial_reference.py   # needs torch only
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (the tutorial's name)
from torch import nn, optim

torch.set_num_threads(1)
device = torch.device("cpu")
HERE = Path(__file__).resolve().parent / "pytorch_tutorial"

SOS_token = 0
EOS_token = 1
MAX_LENGTH = 10
HIDDEN = 32
PARTNER = {"ann": "zed", "bob": "yul", "cat": "xen", "dan": "wes", "eve": "vic", "fay": "uma", "gus": "tom"}
PROBES = ["Ann bob cat.", "dan eve fay gus", "bob ann"]


# ---- from the tutorial -------------------------------------------------------------------------


class Lang:
    def __init__(self, name):
        self.name = name
        self.word2index = {}
        self.word2count = {}
        self.index2word = {0: "SOS", 1: "EOS"}
        self.n_words = 2  # Count SOS and EOS

    def addSentence(self, sentence):  # noqa: N802
        for word in sentence.split(" "):
            self.addWord(word)

    def addWord(self, word):  # noqa: N802
        if word not in self.word2index:
            self.word2index[word] = self.n_words
            self.word2count[word] = 1
            self.index2word[self.n_words] = word
            self.n_words += 1
        else:
            self.word2count[word] += 1


def unicodeToAscii(s):  # noqa: N802
    return "".join(c for c in unicodedata.normalize("NFD", s) if unicodedata.category(c) != "Mn")


def normalizeString(s):  # noqa: N802
    s = unicodeToAscii(s.lower().strip())
    s = re.sub(r"([.!?])", r" \1", s)
    s = re.sub(r"[^a-zA-Z!?]+", r" ", s)
    return s.strip()


class EncoderRNN(nn.Module):
    def __init__(self, input_size, hidden_size, dropout_p=0.1):
        super().__init__()
        self.hidden_size = hidden_size
        self.embedding = nn.Embedding(input_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True)
        self.dropout = nn.Dropout(dropout_p)

    def forward(self, input):
        embedded = self.dropout(self.embedding(input))
        output, hidden = self.gru(embedded)
        return output, hidden


class BahdanauAttention(nn.Module):
    def __init__(self, hidden_size):
        super().__init__()
        self.Wa = nn.Linear(hidden_size, hidden_size)
        self.Ua = nn.Linear(hidden_size, hidden_size)
        self.Va = nn.Linear(hidden_size, 1)

    def forward(self, query, keys):
        scores = self.Va(torch.tanh(self.Wa(query) + self.Ua(keys)))
        scores = scores.squeeze(2).unsqueeze(1)
        weights = F.softmax(scores, dim=-1)
        context = torch.bmm(weights, keys)
        return context, weights


class AttnDecoderRNN(nn.Module):
    def __init__(self, hidden_size, output_size, dropout_p=0.1):
        super().__init__()
        self.embedding = nn.Embedding(output_size, hidden_size)
        self.attention = BahdanauAttention(hidden_size)
        self.gru = nn.GRU(2 * hidden_size, hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, output_size)
        self.dropout = nn.Dropout(dropout_p)

    def forward(self, encoder_outputs, encoder_hidden, target_tensor=None):
        batch_size = encoder_outputs.size(0)
        decoder_input = torch.empty(batch_size, 1, dtype=torch.long, device=device).fill_(SOS_token)
        decoder_hidden = encoder_hidden
        decoder_outputs = []
        attentions = []
        for i in range(MAX_LENGTH):
            decoder_output, decoder_hidden, attn_weights = self.forward_step(
                decoder_input, decoder_hidden, encoder_outputs
            )
            decoder_outputs.append(decoder_output)
            attentions.append(attn_weights)
            if target_tensor is not None:
                decoder_input = target_tensor[:, i].unsqueeze(1)  # Teacher forcing
            else:
                _, topi = decoder_output.topk(1)
                decoder_input = topi.squeeze(-1).detach()  # detach from history as input
        decoder_outputs = torch.cat(decoder_outputs, dim=1)
        decoder_outputs = F.log_softmax(decoder_outputs, dim=-1)
        attentions = torch.cat(attentions, dim=1)
        return decoder_outputs, decoder_hidden, attentions

    def forward_step(self, input, hidden, encoder_outputs):
        embedded = self.dropout(self.embedding(input))
        query = hidden.permute(1, 0, 2)
        context, attn_weights = self.attention(query, encoder_outputs)
        input_gru = torch.cat((embedded, context), dim=2)
        output, hidden = self.gru(input_gru, hidden)
        output = self.out(output)
        return output, hidden, attn_weights


def indexesFromSentence(lang, sentence):  # noqa: N802
    return [lang.word2index[word] for word in sentence.split(" ")]


def tensorFromSentence(lang, sentence):  # noqa: N802
    indexes = indexesFromSentence(lang, sentence)
    indexes.append(EOS_token)
    return torch.tensor(indexes, dtype=torch.long, device=device).view(1, -1)


def evaluate(encoder, decoder, sentence, input_lang, output_lang):
    with torch.no_grad():
        input_tensor = tensorFromSentence(input_lang, sentence)
        encoder_outputs, encoder_hidden = encoder(input_tensor)
        decoder_outputs, decoder_hidden, decoder_attn = decoder(encoder_outputs, encoder_hidden)
        _, topi = decoder_outputs.topk(1)
        decoded_ids = topi.squeeze()
        decoded_words = []
        for idx in decoded_ids:
            if idx.item() == EOS_token:
                decoded_words.append("<EOS>")
                break
            decoded_words.append(output_lang.index2word[idx.item()])
    return decoded_words, decoder_attn


# ---- toy data and training in the tutorial's style ---------------------------------------------


def make_pairs(n: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    words = list(PARTNER)
    pairs = []
    for _ in range(n):
        src = [rng.choice(words) for _ in range(rng.randint(2, 6))]
        pairs.append((" ".join(src), " ".join(PARTNER[w] for w in reversed(src))))
    return pairs


def padded(lang: Lang, sentences: list[str]) -> torch.Tensor:
    ids = np.zeros((len(sentences), MAX_LENGTH), dtype=np.int64)  # 0 (= SOS) pads, as in the tutorial
    for i, s in enumerate(sentences):
        row = indexesFromSentence(lang, s) + [EOS_token]
        ids[i, : len(row)] = row
    return torch.from_numpy(ids)


def train(pairs, input_lang, output_lang, epochs: int = 30) -> tuple[EncoderRNN, AttnDecoderRNN]:
    torch.manual_seed(5)
    encoder = EncoderRNN(input_lang.n_words, HIDDEN)
    decoder = AttnDecoderRNN(HIDDEN, output_lang.n_words)
    params = list(encoder.parameters()) + list(decoder.parameters())
    opt = optim.Adam(params, lr=0.003)
    criterion = nn.NLLLoss()
    src = padded(input_lang, [p[0] for p in pairs])
    tgt = padded(output_lang, [p[1] for p in pairs])
    for _ in range(epochs):
        for start in range(0, len(pairs), 32):
            x, y = src[start : start + 32], tgt[start : start + 32]
            opt.zero_grad()
            encoder_outputs, encoder_hidden = encoder(x)
            decoder_outputs, _, _ = decoder(encoder_outputs, encoder_hidden, y)
            loss = criterion(decoder_outputs.view(-1, decoder_outputs.size(-1)), y.view(-1))
            loss.backward()
            opt.step()
    return encoder.eval(), decoder.eval()


def main() -> None:
    pairs = make_pairs(1500, 1)
    input_lang, output_lang = Lang("src"), Lang("tgt")
    for s, t in pairs:
        input_lang.addSentence(s)
        output_lang.addSentence(t)
    encoder, decoder = train(pairs, input_lang, output_lang)
    HERE.mkdir(parents=True, exist_ok=True)
    torch.save(encoder.state_dict(), HERE / "encoder.pt")
    torch.save(decoder.state_dict(), HERE / "decoder.pt")
    vocab = {
        "format": "pytorch-tutorial-seq2seq",
        "encoder": "encoder.pt",
        "decoder": "decoder.pt",
        "source_words": [input_lang.index2word[i] for i in range(input_lang.n_words)],
        "target_words": [output_lang.index2word[i] for i in range(output_lang.n_words)],
        "sos_id": SOS_token,
        "eos_id": EOS_token,
        "normalize": "tutorial",
    }
    (HERE / "tutorial.json").write_text(json.dumps(vocab, indent=1) + "\n")
    probes = []
    for text in PROBES:
        sentence = normalizeString(text)
        words, attn = evaluate(encoder, decoder, sentence, input_lang, output_lang)
        n = len(words)
        probes.append(
            {
                "source": text,
                "source_tokens": sentence.split(" ") + ["EOS"],
                "output_tokens": ["EOS" if w == "<EOS>" else w for w in words],
                "alpha": attn[0, :n].tolist(),
            }
        )
    ref = {
        "toolkit": "pytorch-tutorial",
        "torch": torch.__version__,
        "decoder": "the tutorial's evaluate(): unpadded input + EOS, MAX_LENGTH greedy steps, cut at EOS",
        "probes": probes,
    }
    (HERE / "reference.json").write_text(json.dumps(ref, indent=1) + "\n")
    print([p["output_tokens"] for p in probes])


if __name__ == "__main__":
    main()
