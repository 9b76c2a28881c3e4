"""Bridges to other agent frameworks (imported on demand; each needs its own extra)."""
