"""Targeting: which residents' places lie in the areas of an alert (streamed, never all at once)."""
