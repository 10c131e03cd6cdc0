"""Learning from use: feedback on ad copy variants, preference datasets built from it, their checks, and blind
comparisons of two model versions (the DPO job itself lives in ``aigc_core.finetune.dpo``)."""

from aigc_core.copy.history import latest_text
from aigc_core.feedback.capture import FeedbackCounts, feedback_counts, give_feedback, list_feedback
from aigc_core.feedback.checks import PreferenceCheck, PreferenceDataError, check_preferences
from aigc_core.feedback.compare import (
    ComparisonInfo,
    comparison_choices,
    get_comparison,
    list_comparisons,
    pick,
    recent_briefs,
    start_comparison,
    wilson_interval,
)
from aigc_core.feedback.dataset import (
    PREFERENCE_DATASET,
    PreferencePair,
    build_preference_dataset,
    preference_pairs,
    split_by_brief,
)

__all__ = [
    "PREFERENCE_DATASET",
    "ComparisonInfo",
    "FeedbackCounts",
    "PreferenceCheck",
    "PreferenceDataError",
    "PreferencePair",
    "build_preference_dataset",
    "check_preferences",
    "comparison_choices",
    "feedback_counts",
    "get_comparison",
    "give_feedback",
    "latest_text",
    "list_comparisons",
    "list_feedback",
    "pick",
    "preference_pairs",
    "recent_briefs",
    "split_by_brief",
    "start_comparison",
    "wilson_interval",
]
