"""The sink's pipeline stages: source, fetch, extraction, enrichment."""
