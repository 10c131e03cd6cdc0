"""The monitor's public API in one import, for scripts and callers outside ``aigc_core.monitor``.

A monitor is a stream of texts (a dataset version plus appended batches) with a column mapping and a model.
The code lives in one module per job, which is where the package itself and the pages import from:

- ``ingest``: column mapping, batch checks (timestamps to UTC, empty texts, duplicate ids), reading uploads.
- ``files``: the rows and pending-batch files under ``<data_dir>/monitors/<id>/`` and their locks.
- ``store``: monitor records (create, read, share, change the model, append batches, delete) with owner checks.
- ``sources``: a dataset version as a monitor's first rows.
- ``watch``: folders under the watch roots whose new files are appended as batches.
- ``scoring``: scoring pending rows (inline or the ``monitor.score`` job), then alerts.
- ``demo``: the sample tweets replayed as a demo stream.
- ``choices``: what the page offers to pick from (dataset versions, classifiers, a model's labels).

Nothing is defined here; patch a name in the module that defines it.
"""

from __future__ import annotations

from aigc_core.monitor.choices import Choice, dataset_versions, default_model, model_raw_labels, registry_classifiers
from aigc_core.monitor.demo import (
    DEMO_NAME,
    DEMO_NOTE,
    demo_batches_left,
    demo_frame,
    demo_next_batch,
    guess_topic,
    sample_tweets_path,
    start_demo_stream,
)
from aigc_core.monitor.files import monitor_dir, rows_path
from aigc_core.monitor.ingest import (
    CANONICAL,
    REQUIRED_ROLES,
    ROLES,
    SCORE_COLUMNS,
    ColumnMapping,
    IngestReport,
    guess_mapping,
    parse_timestamps,
    prepare_batch,
    read_table,
)
from aigc_core.monitor.scoring import (
    INLINE_MAX_ROWS,
    SCORE_CHUNK,
    SCORE_JOB_KIND,
    ScoreRun,
    ScoringStart,
    job_status,
    pending_rows,
    score_pending,
    start_scoring,
)
from aigc_core.monitor.sources import dataset_roles, load_dataset_version
from aigc_core.monitor.store import (
    MonitorInfo,
    append_batch,
    check_monitor,
    create_monitor,
    delete_monitor,
    get_monitor,
    list_monitors,
    load_rows,
    monitor_data,
    set_monitor_shared,
    update_model,
)
from aigc_core.monitor.watch import WATCH_SUFFIXES, poll_folder, set_watch_folder, watch_roots

__all__ = [
    "CANONICAL",
    "DEMO_NAME",
    "DEMO_NOTE",
    "INLINE_MAX_ROWS",
    "REQUIRED_ROLES",
    "ROLES",
    "SCORE_CHUNK",
    "SCORE_COLUMNS",
    "SCORE_JOB_KIND",
    "WATCH_SUFFIXES",
    "Choice",
    "ColumnMapping",
    "IngestReport",
    "MonitorInfo",
    "ScoreRun",
    "ScoringStart",
    "append_batch",
    "check_monitor",
    "create_monitor",
    "dataset_roles",
    "dataset_versions",
    "default_model",
    "delete_monitor",
    "demo_batches_left",
    "demo_frame",
    "demo_next_batch",
    "get_monitor",
    "guess_mapping",
    "guess_topic",
    "job_status",
    "list_monitors",
    "load_dataset_version",
    "load_rows",
    "model_raw_labels",
    "monitor_data",
    "monitor_dir",
    "parse_timestamps",
    "pending_rows",
    "poll_folder",
    "prepare_batch",
    "read_table",
    "registry_classifiers",
    "rows_path",
    "sample_tweets_path",
    "score_pending",
    "set_monitor_shared",
    "set_watch_folder",
    "start_demo_stream",
    "start_scoring",
    "update_model",
    "watch_roots",
]
