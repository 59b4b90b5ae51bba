"""A sweep before and around its trials: the plan, the launcher jobs, the pool that runs them, progress, budget, Ctrl-C."""
