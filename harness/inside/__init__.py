"""Programs that run inside a sandbox, each named as it is named there; the harness copies or mounts them, never imports them."""
