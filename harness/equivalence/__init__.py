"""Generations compared: batteries of scenarios, differential runs, behaviour classes and code similarity."""
