"""Ingestion: files read safely, pages, feeds and exports extracted, chrome cleaned, sentences split, chunks cut."""
