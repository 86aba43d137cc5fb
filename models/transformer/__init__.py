"""Transformer encoder–decoders (Vaswani et al. 2017) with the step API the engine drives."""
