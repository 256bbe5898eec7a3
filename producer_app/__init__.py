"""Frontend-facing app: validate a job search, produce it, answer 202."""
