"""Test-only helpers, importable by worker processes (pytest puts the repo root on sys.path)."""
