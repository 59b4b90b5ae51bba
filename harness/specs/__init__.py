"""Specs: loading a spec folder, pinned upstream texts, and a spec's clause table."""
