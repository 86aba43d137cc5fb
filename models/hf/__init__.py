"""Hugging Face seq2seq models opened from a local folder; `transformers` is imported only when one is opened."""
