"""The one walker of a child's tree, its removal by descriptor, its inert copies and hashes, on real files: trees
past PATH_MAX, folders swapped for links in the middle of a walk, names that are not UTF-8, every special file."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from harness.sandbox.copies import copy_tree, hash_tree, past_caps, write_tree
from harness.sandbox.removal import move_aside, remove_tree
from harness.sandbox.untrusted import SOURCE_FILE_MB, TreeCaps, read_tree, refusal
from harness.sandbox.walk import MB, Walk, disk_usage, open_folder
from harness.specs.loading import sha256_tree
from tests.conftest import deep

CAPS = TreeCaps(2000, 32, 64 * MB)
PAST_PATH_MAX = 2300  # "d/" 2,300 times is 4,600 bytes: past PATH_MAX (4,096)


def walked(root: Path, refuse=None, entries: int = 100, depth: int = 8) -> tuple[list[str], Walk]:
    fd = open_folder(str(root))
    try:
        walk = Walk(fd, entries, depth, refuse)
        return [entry.rel for entry in walk], walk
    finally:
        os.close(fd)


def test_a_tree_past_path_max_is_removed_by_descriptor(tmp_path):
    (tmp_path / "leftover").mkdir()
    deep(tmp_path / "leftover", "x", PAST_PATH_MAX)
    remove_tree(tmp_path / "leftover")
    assert not os.path.lexists(tmp_path / "leftover")


def test_a_leftover_moved_aside_is_gone_and_its_name_free(tmp_path):
    (tmp_path / "work").mkdir()
    deep(tmp_path / "work", "x", PAST_PATH_MAX)
    (tmp_path / "work" / "big.bin").write_bytes(b"x" * MB)
    move_aside(tmp_path / "work")
    assert os.listdir(tmp_path) == []


def test_removal_takes_links_away_and_never_follows_them(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("mine")
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "out").symlink_to(outside)
    (tree / "out").symlink_to(outside / "keep.txt")
    os.mkfifo(tree / "pipe")
    (tree / "sub").chmod(0o500)  # a read-only folder is opened to its owner, by descriptor, to be emptied
    remove_tree(tree)
    assert not tree.exists() and (outside / "keep.txt").read_text() == "mine"


def test_a_folder_swapped_for_a_link_between_look_and_open_is_never_followed(tmp_path):
    (tmp_path / "tree" / "a").mkdir(parents=True)
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "key.txt").write_text("secret")
    swapped = []

    def swap(name, st):  # runs after the walk looked at `a` and before it opens it: the race, made certain
        if name == "a" and not swapped:
            os.rename(tmp_path / "tree" / "a", tmp_path / "a-moved")
            (tmp_path / "tree" / "a").symlink_to(tmp_path / "secret")
            swapped.append(name)
        return ""

    rels, walk = walked(tmp_path / "tree", swap)
    assert swapped and rels == ["a"]  # key.txt never listed: the open refused the link (ENOTDIR, for O_DIRECTORY)
    assert walk.refused == [("a", "unreadable: Not a directory")]


def test_a_folder_swapped_for_another_folder_between_look_and_open_is_refused(tmp_path):
    (tmp_path / "tree" / "a").mkdir(parents=True)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "planted.txt").write_text("planted")

    def swap(name, st):
        if name == "a" and not (tmp_path / "a-moved").exists():
            os.rename(tmp_path / "tree" / "a", tmp_path / "a-moved")
            os.rename(tmp_path / "other", tmp_path / "tree" / "a")
        return ""

    rels, walk = walked(tmp_path / "tree", swap)
    assert rels == ["a"] and walk.refused == [("a", "unreadable: replaced while it was walked")]


def test_the_walk_is_bounded_in_entries_and_depth(deep_ok):
    tmp_path = deep_ok
    deep(tmp_path, "x", 1100)
    rels, walk = walked(tmp_path, depth=8)
    assert len(rels) == 8 and walk.refused == [("d/" * 8 + "d", "deeper than 8 folders")]
    for i in range(30):
        (tmp_path / f"f{i:02}").write_text("")
    rels, walk = walked(tmp_path, entries=10)
    assert len(rels) == 10 and walk.stopped


def test_disk_usage_counts_blocks_and_says_when_it_could_not_see_everything(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"x" * MB)
    fd = open_folder(str(tmp_path))
    try:
        used, whole = disk_usage(fd, 10 * MB, 100, 8)
        assert MB <= used < 2 * MB and whole
        deep(tmp_path, "", 20)
        assert disk_usage(fd, 10 * MB, 100, 8)[1] is False
    finally:
        os.close(fd)


def oddities(folder: Path) -> Path:
    """A tree holding one good file among everything a kept folder must not hold."""
    folder.mkdir()
    (folder / "adder.py").write_text("def add(a, b):\n    return a + b\n")
    (folder / "pkg").mkdir()
    (folder / "pkg" / "mod.py").write_text("X = 1\n")
    (folder / "new\nline.py").write_text("")
    (folder / "-rf").write_text("")
    (folder / " spaced.py").write_text("")
    (folder / "esc\x1b[31m.txt").write_text("")
    (folder / "link").symlink_to("/etc/passwd")
    os.mkfifo(folder / "fifo")
    for name, mode in (("setuid.sh", 0o4755), ("setgid.sh", 0o2755), ("sticky.txt", 0o1666), ("open.txt", 0o666)):
        (folder / name).write_text("#!/bin/sh\n")
        os.chmod(folder / name, mode)
    (folder / "huge.py").write_bytes(b"#" * (SOURCE_FILE_MB * MB + 1))
    os.close(os.open(os.path.join(os.fsencode(folder), b"bad-\xff.py"), os.O_CREAT | os.O_WRONLY, 0o644))
    return folder


def test_a_copy_is_inert_and_names_what_it_left_out(tmp_path):
    tree = copy_tree(oddities(tmp_path / "child"), tmp_path / "kept", CAPS)
    kept = {p.relative_to(tmp_path / "kept").as_posix(): p.lstat() for p in (tmp_path / "kept").rglob("*")}
    assert set(kept) == {"adder.py", "pkg", "pkg/mod.py", "setuid.sh", "setgid.sh", "sticky.txt", "open.txt"}
    for name, st in kept.items():
        assert stat.S_IMODE(st.st_mode) == (0o755 if name == "pkg" else 0o644), name
    reasons = dict(tree.refused)
    assert reasons == {"new\nline.py": "name a shell cannot handle", "-rf": "name a shell cannot handle",
                       " spaced.py": "name a shell cannot handle", "esc\x1b[31m.txt": "name a shell cannot handle",
                       "link": "symlink", "fifo": "not a regular file", "bad-\udcff.py": "name not UTF-8",
                       "huge.py": f"larger than {SOURCE_FILE_MB} MB"}
    assert "bad-?.py (name not UTF-8)" in tree.note() and "esc?[31m.txt" in tree.note()


def test_reading_back_takes_the_entry_files_first_whatever_the_caps(tmp_path):
    folder = tmp_path / "import"
    folder.mkdir()
    for i in range(50):
        (folder / f"a{i:02}.txt").write_text("")
    (folder / "zz.py").write_text("ENTRY = 1\n")
    tree = read_tree(folder, TreeCaps(10, 32, 64 * MB), first=("zz.py",))
    assert "zz.py" in tree.files and tree.stopped_at == 10 and len(tree.files) == 11


def test_a_folder_past_the_caps_is_named_before_a_byte_is_read(tmp_path):
    folder = tmp_path / "import"
    folder.mkdir()
    with open(folder / "sparse.bin", "wb") as out:
        out.truncate(3 * 1024 * MB)  # 3 GB that cost no disk, and would cost the harness 3 GB to read
    assert past_caps(folder, CAPS) == "holds more than 64 MB (sandbox.disk_mb)"
    (folder / "sparse.bin").unlink()
    deep(folder, "", 1100)
    assert past_caps(folder, CAPS) == "is deeper than 32 folders (sandbox.tree_depth)"
    remove_tree(folder / "d")
    for i in range(2001):
        (folder / f"f{i}").write_text("")
    assert past_caps(folder, CAPS) == "holds more than 2000 entries (sandbox.tree_entries)"


def path_walk_digest(root: Path) -> str:
    """The digest sha256_tree gave before it read by descriptor (paths in sorted order, caches left out): trial
    ids recorded with it must stay the same for trees that hold nothing to refuse."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def test_a_plain_tree_keeps_its_digest_and_an_odd_one_is_hashed_without_following_or_crashing(tmp_path):
    plain = tmp_path / "plain"
    (plain / "pkg" / "__pycache__").mkdir(parents=True)
    for rel, data in {"a.py": b"A", "a-b.py": b"AB", "pkg/b.bin": bytes(range(256)), "pkg/__pycache__/b.pyc": b"c",
                      "pkg/z/y.txt": b"Y"}.items():
        (plain / rel).parent.mkdir(parents=True, exist_ok=True)
        (plain / rel).write_bytes(data)
    assert sha256_tree(plain) == path_walk_digest(plain)
    digest, tree = hash_tree(oddities(tmp_path / "odd"), CAPS)
    (tmp_path / "odd" / "link").unlink()
    assert hash_tree(tmp_path / "odd", CAPS)[0] != digest  # a refusal is part of what identifies the tree
    assert "link" in dict(tree.refused) and "bad-\udcff.py" in dict(tree.refused)


def test_refusal_and_write_tree_share_one_name_policy(tmp_path):
    regular = os.lstat(__file__)
    assert refusal("ok_name.py", regular) == "" and refusal("-x", regular) == "name a shell cannot handle"
    with pytest.raises(ValueError, match="name a shell cannot handle"):
        write_tree(tmp_path / "impl", {"pkg/-rf.py": ""})
    write_tree(tmp_path / "impl", {"pkg/ok.py": "X = 1\n"})
    assert (tmp_path / "impl" / "pkg" / "ok.py").read_text() == "X = 1\n"

