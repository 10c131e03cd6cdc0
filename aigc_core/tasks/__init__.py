"""Inference tasks, each written as preprocess -> forward -> postprocess and returning a typed result."""
