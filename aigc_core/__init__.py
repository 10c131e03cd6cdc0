"""AIGC Studio engine: models, tasks, storage and background jobs, free of any UI code."""

__version__ = "0.1.0"
