"""Packs: one system's knowledge (markers, checks, templates, scenarios) over the generic blocks."""
