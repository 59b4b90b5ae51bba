"""Running untrusted code: the sandbox backends, bubblewrap, cgroups, a run's life, and reading back what a child left."""
