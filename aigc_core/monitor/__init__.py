"""Sentiment monitors: scored streams of text, dashboard aggregates, complaint terms, alerts and replies.

- ``monitors``: create a monitor (dataset version or frame + column mapping + model), append batches, watch a
  folder, score pending rows (inline or the ``monitor.score`` job), the demo stream.
- ``aggregate``: ``MonitorData`` (DuckDB over the rows Parquet, with hourly/daily pre-aggregation) and ``Filters``.
- ``terms``: distinctive terms of negative texts in a window vs a baseline (log-odds, informative Dirichlet prior).
- ``alerts``: rules, evaluation after every scoring run, webhook delivery with retries.
- ``reply``: an Ad copy brief (customer-service answer or holding statement) from an alert.
- ``export``: scored rows (CSV/Parquet) and aggregated series (CSV).
"""
