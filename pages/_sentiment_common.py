"""What the Sentiment page's components share: session-state keys, label colours and the signed-in user's rights.

Nothing here holds per-user state at import time (modules are imported once per process): the signed-in user is
looked up on every call.
"""

from __future__ import annotations

from aigc_core.monitor.store import MonitorInfo
from aigc_core.users import roles

LABEL_COLORS = {"negative": "#d62728", "neutral": "#9e9e9e", "positive": "#2ca02c"}
LABELS = ("negative", "neutral", "positive")
MONITOR_KEY = "sent_monitor"  # the monitor picked in the select box
JOB_KEY = "sent_job"  # {"monitor_id", "job_id"} of the background scoring job being watched
MAPPING_ERROR_KEY = "sent_mapping_error"  # id of the monitor whose model's labels need a mapping
FLASH_REPORT = "sent_flash_report"  # messages shown once, after the rerun: info, success, warning, error
FLASH = "sent_flash"
FLASH_WARN = "sent_flash_warn"
FLASH_ERROR = "sent_flash_error"


def me() -> roles.Actor:
    """The signed-in user of this session."""
    return roles.current()


def can_change(info: MonitorInfo) -> bool:
    """True when the signed-in user may add batches, score, edit rules and acknowledge alerts of this monitor."""
    return roles.allowed(me(), "change", owner=info.owner, shared=info.shared)
