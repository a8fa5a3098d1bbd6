"""Render findings for people (terminal) and machines (JSON)."""
