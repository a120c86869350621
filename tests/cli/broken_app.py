"""A module whose import fails (the CLI must report it in one line)."""

raise RuntimeError("boom at import")
