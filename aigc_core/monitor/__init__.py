"""Sentiment monitors: scored streams of text, dashboard aggregates, complaint terms, alerts and replies."""
