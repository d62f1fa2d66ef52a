"""Migration scripts (one file per revision)."""
