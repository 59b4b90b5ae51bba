"""Reading trees of untrusted files: an agent's work dir, an imported folder, a parent's impl given to the next
generation. Real files, real links, a real FIFO; the end-to-end test runs a hostile agent in the real sandbox."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from harness.config.schema import SandboxConfig
from harness.generation.agent_cli import CommandAgent
from harness.generation.builtin_agent import collect_implementation
from harness.generation.controls import FolderGenerator
from harness.records.tables import build_tables
from harness.sandbox.backends import ProcessSandbox, bwrap_available
from harness.sandbox.untrusted import SOURCE_FILE_MB, TreeCaps
from harness.seams import GenerationContext
from harness.specs.loading import load_spec
from tests.conftest import PLANTED_KEY, ROOT, deep, make_spec, run_harness, sweep

ROOT_SECRET = "root-only-secret-4c2b9e1d7a"
OUTSIDE_SECRET = "outside-secret-8d3f6a0b2e"
PLANTED_SECRET = "planted-secret-1e5c7b9d3f"
SECRETS = (ROOT_SECRET, OUTSIDE_SECRET, PLANTED_SECRET)
CORRECT = "def add(a, b):\n    return a + b\n"
MB = 1024 * 1024
CAPS = TreeCaps.of(SandboxConfig(disk_mb=64))


def outside(tmp_path: Path) -> dict[str, Path]:
    """Things on the host, outside any tree under test, that a link may point at."""
    place = tmp_path / "outside"
    (place / "dir").mkdir(parents=True)
    (place / "planted.txt").write_text(PLANTED_SECRET)
    (place / "dir" / "secret.py").write_text(f"KEY = {OUTSIDE_SECRET!r}\n")
    root_only = place / "root-only.txt"
    root_only.write_text(ROOT_SECRET)
    os.chown(root_only, 0, 0)
    root_only.chmod(0o600)
    big = place / "big.bin"
    with big.open("wb") as out:
        out.truncate(20 * MB)  # sparse: costs no disk here, 20 MB to whoever copies it
    return {"planted": place / "planted.txt", "dir": place / "dir", "root_only": root_only, "big": big}


def hostile_tree(tmp_path: Path, folder: Path) -> Path:
    """One correct adder.py among every kind of entry a tree must not hand over."""
    places = outside(tmp_path)
    folder.mkdir(parents=True)
    (folder / "adder.py").write_text(CORRECT)
    (folder / "leak.txt").symlink_to(places["planted"])
    (folder / "root-only.txt").symlink_to(places["root_only"])
    (folder / "environ.txt").symlink_to("/proc/self/environ")
    (folder / "pkg").symlink_to(places["dir"])  # pkg/secret.py: a link in the middle of a path
    for i in range(10):
        (folder / f"link-to-big-{i}").symlink_to(places["big"])
    (folder / "blob.bin").write_bytes(bytes(range(256)))
    os.mkfifo(folder / "pipe")
    deep(folder, PLANTED_SECRET)
    return folder


def assert_refusals_named(detail: str) -> None:
    for named in ("refused 17 entries", "environ.txt, leak.txt, link-to-big-0 and 11 more (symlink)",
                  "blob.bin (binary)", "pipe (not a regular file)", "(deeper than 32 folders)"):
        assert named in detail, detail


def secrets_in(files: dict[str, str]) -> list[str]:
    environ = Path("/proc/self/environ").read_bytes().decode(errors="replace").split("\0")[0]
    return [s for s in (*SECRETS, environ) if any(s in text for text in files.values())]


@pytest.fixture(autouse=True)
def removed_at_teardown(deep_ok):
    """Most tests here leave a 1,100-deep folder behind."""


@pytest.fixture
def spec(tmp_path):
    return load_spec(make_spec(tmp_path / "specs").parent, "adder")


def test_collecting_a_work_dir_takes_regular_files_only_and_names_each_refusal(tmp_path, spec):
    work = hostile_tree(tmp_path, tmp_path / "work")
    (work / "spec.md").write_text(spec.text)
    generation = collect_implementation(work, spec, CAPS, "agent exited 0")
    assert generation.files == {"adder.py": CORRECT} and secrets_in(generation.files) == []
    assert generation.detail.startswith("agent exited 0; refused")
    assert_refusals_named(generation.detail)


def test_importing_a_folder_takes_regular_files_only_and_names_each_refusal(tmp_path, spec):
    folder = hostile_tree(tmp_path, tmp_path / "import")
    generation = FolderGenerator(folder, CAPS).generate(spec, GenerationContext(None, 0.0, 0, tmp_path))
    assert generation.files == {"adder.py": CORRECT} and secrets_in(generation.files) == []
    assert_refusals_named(generation.detail)


def test_a_tree_with_nothing_usable_left_says_what_was_refused(tmp_path, spec):
    folder = tmp_path / "import"
    folder.mkdir()
    (folder / "adder.py").symlink_to(outside(tmp_path)["root_only"])
    generation = FolderGenerator(folder, CAPS).generate(spec, GenerationContext(None, 0.0, 0, tmp_path))
    assert generation.files == {}
    assert "refused 1 entry: adder.py (symlink)" in generation.detail and "lacks entry file" in generation.detail


def test_hardlinks_are_files_but_each_counts_against_the_byte_cap(tmp_path, spec):
    work = tmp_path / "work"
    work.mkdir()
    (work / "adder.py").write_text(CORRECT)
    (work / "big-0.txt").write_text("x" * (6 * MB))
    for i in range(1, 10):
        os.link(work / "big-0.txt", work / f"big-{i}.txt")
    generation = collect_implementation(work, spec, TreeCaps(2000, 32, 20 * MB))
    assert sum(len(text) for text in generation.files.values()) <= 20 * MB
    assert {"adder.py", "big-0.txt", "big-1.txt", "big-2.txt"} == set(generation.files)
    assert "big-3.txt, big-4.txt, big-5.txt and 4 more (over the 20 MB total)" in generation.detail


def test_a_file_past_the_source_size_is_refused_and_the_rest_read(tmp_path, spec):
    work = tmp_path / "work"
    work.mkdir()
    (work / "adder.py").write_text(CORRECT)
    (work / "huge.py").write_text("#" * (SOURCE_FILE_MB * MB + 1))
    generation = collect_implementation(work, spec, CAPS)
    assert set(generation.files) == {"adder.py"}
    assert f"huge.py (larger than {SOURCE_FILE_MB} MB)" in generation.detail


def test_a_flood_of_entries_stops_the_walk_at_the_cap(tmp_path, spec):
    work = tmp_path / "work"
    work.mkdir()
    (work / "adder.py").write_text(CORRECT)
    for i in range(60):
        (work / f"z{i:02}.txt").write_text("")
    caps = TreeCaps.of(SandboxConfig(tree_entries=50))
    generation = collect_implementation(work, spec, caps)
    assert len(generation.files) == 50 and "adder.py" in generation.files
    assert "read no further than 50 entries" in generation.detail


def test_the_parent_impl_given_to_the_next_generation_is_copied_without_links(tmp_path):
    impl = hostile_tree(tmp_path, tmp_path / "impl")
    agent = CommandAgent(["{python}", "{impl}/adder.py"], "task", 10, ProcessSandbox(), "m", caps=CAPS,
                         impl_dir=impl)
    copy, note = agent._copy_agent(tmp_path / "agent")
    found = {p.relative_to(copy).as_posix() for p in copy.rglob("*")}
    assert found == {"adder.py"} and "leak.txt" in note and "(symlink)" in note


HOSTILE_AGENT = '''\
"""Offers read_file and write_file in name only: run as an agent, it leaves links and oddities in its work dir."""
import os, sys, time
os.chdir(sys.argv[sys.argv.index("--cwd") + 1])
with open("agent.py", "w") as out:
    out.write(open(__file__).read())
os.symlink("/proc/self/environ", "leak.txt")
os.symlink({root_only!r}, "root-only.txt")
os.symlink({dir!r}, "pkg")
for i in range(10):
    os.symlink({big!r}, f"link-to-big-{{i}}")
with open("blob.bin", "wb") as out:
    out.write(bytes(range(256)))
os.mkfifo("pipe")
for _ in range(1100):
    os.mkdir("d")
    os.chdir("d")
time.sleep(1)  # the harness measures the work dir meanwhile
'''


def leaks(folder: Path) -> str:
    """Files under `folder` holding a secret; grep neither follows links nor opens FIFOs."""
    found = subprocess.run(["grep", "-rlF", "-D", "skip", *[f"-e{s}" for s in (*SECRETS, PLANTED_KEY)],
                            str(folder)], capture_output=True, text=True)
    return found.stdout


@pytest.mark.skipif(not bwrap_available(), reason="bubblewrap is not installed (.ci/run installs it)")
def test_a_hostile_agent_in_a_chain_hands_over_no_link_and_is_not_an_error(tmp_path, monkeypatch):
    places = outside(tmp_path)
    hostile, links_only = tmp_path / "hostile", tmp_path / "links-only"
    hostile.mkdir()
    links_only.mkdir()
    (hostile / "agent.py").write_text(HOSTILE_AGENT.format(**{k: str(v) for k, v in places.items()}))
    (hostile / "leak.txt").symlink_to("/proc/self/environ")
    (links_only / "agent.py").symlink_to(places["planted"])
    runs = tmp_path / "runs"  # the sweep's two jobs in-process: this is about the chain, not the command line
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED_KEY)
    sweep("experiment=paper", f"runs_dir={runs}", f"specs_dir={ROOT / 'tests' / 'fixtures'}",
          "spec.name=tiny-agent", "generator.gen0=import", "generator.depth=1", "sandbox=bwrap",
          f"generator.import_path={hostile},{links_only}", "sandbox.disk_mb=64")
    build_tables(runs / "paper")
    rows = pd.read_parquet(runs / "paper" / "results.parquet").sort_values(["generation", "status"])
    assert list(zip(rows["generation"], rows["status"])) == [(0, "no_code"), (0, "scored"), (1, "scored")]
    assert "refused 1 entry: agent.py (symlink)" in rows["detail"].iloc[0]
    assert "refused 1 entry: leak.txt (symlink)" in rows["detail"].iloc[1]
    made = rows["detail"].iloc[2]
    for named in ("agent exited 0", "refused 16 entries", "blob.bin (binary)", "pipe (not a regular file)",
                  "leak.txt, link-to-big-0, link-to-big-1 and 10 more (symlink)", "(deeper than 32 folders)"):
        assert named in made, made
    assert leaks(runs) == ""
    used = int(subprocess.run(["du", "-sb", str(runs)], capture_output=True, text=True).stdout.split()[0])
    assert used < 64 * MB


def test_an_import_past_the_caps_is_one_line_before_anything_is_spent(tmp_path):
    folder, runs = tmp_path / "import", tmp_path / "runs"
    folder.mkdir()
    (folder / "adder.py").write_text(CORRECT)
    with open(folder / "sparse.bin", "wb") as out:
        out.truncate(3 * 1024 * MB)  # followed and read, it once cost 67 s and 3.27 GB of the harness's memory
    for i in range(1100):
        (folder / f"f{i:04}.txt").write_text("")
    os.close(os.open(os.path.join(os.fsencode(folder), b"bad-\xff.txt"), os.O_CREAT | os.O_WRONLY, 0o644))
    (folder / "leak.txt").symlink_to("/proc/self/environ")
    common = [f"runs_dir={runs}", f"specs_dir={make_spec(tmp_path / 'specs').parent}", "spec.name=adder",
              "generator=import", f"generator.import_path={folder}", "sandbox.disk_mb=64"]
    proc = run_harness(*common, timeout=120)
    assert proc.returncode == 2 and "holds more than 64 MB (sandbox.disk_mb)" in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not runs.exists()
    (folder / "sparse.bin").unlink()
    proc = run_harness(*common, "sandbox.tree_entries=1000", timeout=120)
    assert proc.returncode == 2 and "holds more than 1000 entries (sandbox.tree_entries)" in proc.stderr
    # Within the caps: read as data, the oddities named, no traceback (the trial's generator, in-process).
    spec = load_spec(tmp_path / "specs", "adder")
    generation = FolderGenerator(folder, CAPS).generate(spec, GenerationContext(None, 0.0, 0, tmp_path))
    assert generation.files["adder.py"] == CORRECT
    assert "bad-?.txt (name not UTF-8)" in generation.detail and "leak.txt (symlink)" in generation.detail
