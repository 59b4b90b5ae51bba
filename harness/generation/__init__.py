"""Ways to obtain an implementation of a spec: one-shot prompts, the built-in agent, agent CLIs, controls and imports."""
