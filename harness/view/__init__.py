"""The trial viewer (`harness-view`): static pages of every trial, its tests, files and transcript, beside the report."""
