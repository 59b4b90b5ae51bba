"""The commands a user types (`harness`, `harness-archive`) and the hello world: start reading at run/hello_world.py."""
