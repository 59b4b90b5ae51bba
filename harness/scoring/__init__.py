"""Judging an implementation: the hidden suite run in two rooms, the verdict read from our plugin's stream, and kill rates."""
