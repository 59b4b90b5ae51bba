"""Typed configuration: the dataclass schemas Hydra composes conf/ into, one per config group and one per generator."""
