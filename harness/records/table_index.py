"""What an experiment's tables were last built from (`tables.index.json`): each record file's inode, mtime and
size. With it, a rebuild reads only the records written, rewritten or deleted since, and patches the tables,
instead of reading every record again (harness/records/tables.py): a sweep of 18 trials beside 10,000 recorded ones
rebuilt them from 226 MB of JSON at its end. Records are replaced by rename, so a rewritten record has a new
inode even within one mtime tick."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

from harness.records.atomic import write_bytes_atomic

INDEX = "tables.index.json"


def scan(trials_dir: Path) -> dict[str, list[int]]:
    """Each record file's name -> [inode, mtime_ns, size]: a directory listing and its stats, no read."""
    seen = {}
    try:
        with os.scandir(trials_dir) as entries:
            for entry in entries:
                if entry.name.endswith(".json") and not entry.name.startswith(".") and entry.is_file():
                    stat = entry.stat()
                    seen[entry.name] = [stat.st_ino, stat.st_mtime_ns, stat.st_size]
    except FileNotFoundError:
        pass
    return seen


def read(run_dir: Path) -> Optional[dict[str, list[int]]]:
    """The index, or None when there is none or it is not one (torn, edited): the next build then reads every
    record, and writes a new index."""
    try:
        records = json.loads((Path(run_dir) / INDEX).read_text())["records"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    valid = isinstance(records, dict) and all(
        isinstance(stat, list) and len(stat) == 3 and all(type(n) is int for n in stat) for stat in records.values())
    return records if valid else None


def write(run_dir: Path, seen: Optional[dict[str, list[int]]]) -> None:
    """Remember what the tables now hold; None forgets it, so that the next build reads every record."""
    if seen is None:
        (Path(run_dir) / INDEX).unlink(missing_ok=True)
    else:
        write_bytes_atomic(Path(run_dir) / INDEX, json.dumps({"records": seen}, separators=(",", ":")).encode())


def changes(index: dict[str, list[int]], seen: dict[str, list[int]]) -> tuple[list[str], set[str]]:
    """The record files to read (new or changed since the index), and the trial ids whose rows go (those of
    changed and deleted files; a record's file is named by its trial id)."""
    changed = sorted(name for name, stat in seen.items() if index.get(name) != stat)
    gone = {name[:-len(".json")] for name in [*changed, *(set(index) - set(seen))]}
    return changed, gone
