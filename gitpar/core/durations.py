"""Durations as people write them: now ``gitpar.model.durations`` (re-exported while callers move)."""

from gitpar.model.durations import MAX_SECONDS, format_duration, parse_duration

__all__ = ["MAX_SECONDS", "format_duration", "parse_duration"]
