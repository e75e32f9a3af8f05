"""Watching sources: feeds and sitemaps polled on a schedule, their new and changed articles written into the seeds
and indexed by the same incremental build as `newsbot add` (docs/watch.md)."""
