"""Connector-facing app: authenticate a delivery and run the search pipeline."""
