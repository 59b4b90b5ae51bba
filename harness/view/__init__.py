"""The trial viewer (`harness-view`): static pages of each trial, its tests, files and transcript, beside the report."""
