"""Fine-tuning without code: classifiers and a brand-voice language model, trained as background jobs, with a
registry of model versions."""
