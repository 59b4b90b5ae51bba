"""The parent-visible chain (`generator.show_parent=true`): generation k+1's work dir holds the spec and, in
`parent/`, its parent's source, read-only, with a task that says to re-implement from scratch. The paper's
methodology has this variant; comparing its similarity to parent and its equivalence with the plain chain's
(harness/equivalence/classes.py) tells whether children copy what they are shown.
"""

from __future__ import annotations

from pathlib import Path

from harness.sandbox.copies import copy_tree, write_tree
from harness.sandbox.removal import remove_tree
from harness.sandbox.untrusted import TreeCaps, read_tree

PARENT_DIR = "parent"
SHOWN_DIR = "parent-shown"  # where the shown copy is kept with the trial once the agent is done


def show_parent(workdir: Path, parent_impl: Path, caps: TreeCaps) -> Path:
    """Copy the parent's source into `workdir/parent` (its regular text files, links not followed) and make it
    read-only; returns the folder, which the caller also mounts read-only in the sandbox."""
    target = workdir / PARENT_DIR
    write_tree(target, read_tree(parent_impl, caps).files)
    for path in sorted(target.rglob("*"), reverse=True):
        path.chmod(0o555 if path.is_dir() else 0o444)
    target.chmod(0o555)
    return target


def put_away(workdir: Path, keep: Path, caps: TreeCaps) -> None:
    """Take the shown parent out of the work dir before its files are collected as the child's implementation,
    keeping an inert copy of it (as `keep`) with the trial as evidence of what the agent was shown (the work
    dir is a tmpfs of its own: nothing can be renamed out of it)."""
    copy_tree(workdir / PARENT_DIR, keep, caps)
    remove_tree(workdir / PARENT_DIR)
