"""Sentiment monitors: scored streams of text, dashboard aggregates, complaint terms, alerts and replies.

One module per job (``monitors`` re-exports the monitor API for scripts):

- ``ingest``: column mapping and batch checks (timestamps to UTC, empty texts, duplicate ids), reading uploads.
- ``files``: a monitor's rows and pending-batch files under the data dir, and their locks.
- ``store``: monitor records (create, read, share, change the model, append batches, delete) with owner checks.
- ``sources``: a dataset version as a monitor's first rows (through ``aigc_core.data``).
- ``watch``: watched folders under the admin's watch roots.
- ``scoring``: scoring pending rows (inline or the ``monitor.score`` job), then the alerts.
- ``demo``: the sample tweets replayed as a demo stream.
- ``choices``: what the page offers to pick from (dataset versions, classifiers, a model's labels).
- ``aggregate``: ``MonitorData`` (DuckDB over the rows Parquet, with hourly/daily pre-aggregation) and ``Filters``.
- ``terms``: distinctive terms of negative texts in a window vs a baseline (log-odds, informative Dirichlet prior).
- ``alerts``: rules and the alerts they fired; ``evaluation``: rules evaluated after every scoring run;
  ``webhooks``: delivery by the worker with retries.
- ``reply``: an Ad copy ``Brief`` (customer-service answer or holding statement) from an alert.
- ``export``: scored rows (CSV/Parquet) and aggregated series (CSV).
- ``jobs``: the job kinds ``monitor.score`` and ``monitor.deliver_webhooks``.
"""
