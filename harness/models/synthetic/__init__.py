"""The synthetic model: an offline stand-in served as a provider, with its ground truth recorded."""
