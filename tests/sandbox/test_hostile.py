"""Hostile implementations, scored by the real scorer in the real bwrap sandbox. The host must be unharmed.

Each implementation defines a correct `add` only if its attack failed, so "every test passed" means
"the attack found nothing", and a failing suite means the attack got through (or, where said, was caught).
The attacks through /proc on the runs dir run under both backends: docs/sandbox.md's "What the sandbox cannot promise"
names those the process backend cannot stop.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import textwrap
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import pytest

from harness.models.cache import CacheMode, ResponseCache
from harness.sandbox import cgroups
from harness.sandbox.backends import BwrapSandbox, Limits, bwrap_available
from harness.sandbox.bwrap import NOBODY
from harness.sandbox.writable import can_mount
from harness.scoring.rooms import score
from harness.seams import ScoreStatus, TestOutcome
from harness.specs.loading import load_spec
from tests.conftest import PLANTED_KEY, make_spec, run_harness
from tests.sandbox.test_writable import HOLES

needs_bwrap = pytest.mark.skipif(not bwrap_available(), reason="bubblewrap is not installed (.ci/run installs it)")
needs_cgroups = pytest.mark.skipif(not cgroups.usable(), reason="no writable cgroup v1 memory and pids hierarchies "
                                                                "here: memory and process limit hits go unseen")

CORRECT = "def add(a, b):\n    return a + b\n"
WRONG = "def add(a, b):\n    return 0\n"

LOOP = "while True:\n    pass\n"
FORK_BOMB = "import os\nwhile True:\n    os.fork()\n"
# Touches every page it takes: an allocation past the limit, not a reservation the kernel refuses up front.
MEMORY_BOMB = "blobs = []\nwhile True:\n    blobs.append(b'x' * (64 << 20))\n"
FLOOD = """
    import os
    chunk = b"x" * (1 << 20)
    for _ in range(1024):
        os.write(1, chunk)
    """
FILL_DISK = """
    chunk = b"x" * (1 << 20)
    for i in range(4096):
        with open(f"fill-{i}", "wb") as out:
            for _ in range(64):
                out.write(chunk)
    """
# The code under test looks for the report pipe (as code in the pytest process could find it) to write a clean
# stream claiming every test passed. It runs in a room of its own, where there is no such pipe to find.
FORGE = """
    import json, os
    fd = None
    for name in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{name}").startswith("pipe:") and int(name) > 2:
                fd = int(name)
        except OSError:
            pass
    lines = [{"event": "start"}] + [
        {"event": "test", "id": f"test_adder::{n}", "outcome": "passed", "seconds": 0.0}
        for n in ("test_small", "test_negative", "test_zero")] + [{"event": "end", "tests": 3, "exitstatus": 0}]
    os.write(fd, "".join(json.dumps(line) + "\\n" for line in lines).encode())
    """
def look_for_keys(home: Path) -> str:
    """An attack that hunts for the planted key in the environment, the harness's home and pid 1's environment."""
    return textwrap.dedent(f"""
        import os, pathlib
        marker = {PLANTED_KEY[:11]!r}  # the key's prefix: the source must not hold the key it hunts for
        found = any(marker in v for v in os.environ.values())
        places = [{str(home / ".ssh" / "id_rsa")!r}, "/root/.ssh/id_rsa", "/root/.ssh/id_ed25519", "/proc/1/environ",
                  os.path.expanduser("~/.ssh/id_rsa")]
        for place in places:
            try:
                found = found or marker in pathlib.Path(place).read_text(errors="replace")
            except OSError:
                pass
        print(dict(os.environ))  # were a key there, the harness must keep it out of every file it writes
        """)


def plant_home(tmp_path: Path) -> Path:
    """A home for the harness with the planted key in ~/.ssh: the code under test must not read it."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text(PLANTED_KEY)
    return home


CORRECT_UNLESS_FOUND = "def add(a, b):\n    return 0 if found else a + b\n"


def run(tmp_path, attack: str, tail: str = "", time_limit_s: float = 20, limits: Limits = Limits()):
    """Score an implementation made of an attack (indented text is fine) followed by `tail`."""
    specs = tmp_path / "specs"
    make_spec(specs, time_limit_s=time_limit_s)
    impl = tmp_path / "impl"
    impl.mkdir()
    (impl / "adder.py").write_text(textwrap.dedent(attack) + "\n" + tail)
    return score(load_spec(specs, "adder"), impl, BwrapSandbox(limits=limits))


def all_passed(result) -> bool:
    return result.status is ScoreStatus.scored and result.tests and all(
        t.outcome is TestOutcome.passed for t in result.tests)


@pytest.fixture(autouse=True)
def scoring_dirs_under_tmp_path(tmp_path, monkeypatch):
    """The scorer's work dirs go under tmp_path, so this test's sandboxes can be told from other users'."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


def nobodys_processes(under: Path) -> list[str]:
    """Processes of the sandbox's uid started from `under` (others on this machine run sandboxes too)."""
    found = subprocess.run(["pgrep", "-a", "-u", str(NOBODY)], capture_output=True, text=True).stdout
    return [line for line in found.splitlines() if str(under) in line]


@needs_bwrap
def test_an_infinite_loop_is_a_timeout(tmp_path):
    result = run(tmp_path, LOOP, time_limit_s=3)
    assert result.status is ScoreStatus.timeout


@needs_bwrap
@needs_cgroups
def test_a_fork_bomb_is_a_process_limit_and_leaves_no_process(tmp_path):
    start = time.monotonic()
    result = run(tmp_path, FORK_BOMB, CORRECT, time_limit_s=10,
                 limits=Limits(processes=64))
    assert result.status is ScoreStatus.processes, result.detail
    assert time.monotonic() - start < 30
    time.sleep(0.5)
    assert nobodys_processes(tmp_path) == []


@needs_bwrap
@needs_cgroups
def test_a_memory_bomb_is_a_memory_failure(tmp_path):
    result = run(tmp_path, MEMORY_BOMB, CORRECT, limits=Limits(memory_mb=512))
    assert result.status is ScoreStatus.memory and "OOM killer" in result.detail
    assert len(result.tests) == 3  # its per-test outcomes stay on the record


# Text the code under test controls, naming every limit: each test fails with one of the errors a limit causes,
# raised by hand, after the same words were printed. Nothing was hit: the failures are ordinary.
LIMIT_WORDS = """
    import errno, sys
    print("MemoryError: Cannot allocate memory", "BlockingIOError: [Errno 11] Resource temporarily unavailable",
          "OSError: [Errno 28] No space left on device", "OSError: [Errno 27] File too large", file=sys.stderr)
    def add(a, b):
        if a == 2:
            raise MemoryError("Cannot allocate memory")
        if a == -2:
            raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")
        raise OSError(errno.ENOSPC, "No space left on device")
    """


@needs_bwrap
def test_the_words_of_a_limit_are_an_ordinary_failure(tmp_path):
    result = run(tmp_path, LIMIT_WORDS)
    assert result.status is ScoreStatus.scored, result.detail
    assert [t.outcome for t in result.tests] == [TestOutcome.failed] * 3
    assert {t.message.split(":")[0] for t in result.tests} == {"MemoryError", "BlockingIOError", "OSError"}


@needs_bwrap
def test_a_gigabyte_on_stdout_is_stopped_at_the_output_limit(tmp_path):
    start = time.monotonic()
    result = run(tmp_path, FLOOD, CORRECT, limits=Limits(output_mb=16))
    assert result.status is ScoreStatus.output and time.monotonic() - start < 20


@needs_bwrap
def test_filling_the_disk_stops_at_the_scratch_size_and_never_touches_the_hosts(tmp_path):
    free_before = shutil.disk_usage(tmp_path).free
    result = run(tmp_path, FILL_DISK, CORRECT, limits=Limits(disk_mb=128, file_mb=1024))
    assert result.status is ScoreStatus.disk and "scratch" in result.detail
    assert free_before - shutil.disk_usage(tmp_path).free < 64 * 1024**2  # 128 MB went to a tmpfs, not the disk


@needs_bwrap
def test_one_huge_file_stops_at_the_file_size_limit(tmp_path):
    """Python ignores SIGXFSZ, so a write past sandbox.file_mb is an error the code sees (EFBIG), like any other,
    and its tests fail as ordinary failures: the sandbox saw nothing it could name (docs/results.md, Statuses)."""
    source = """
        import os
        with open("/tmp/huge", "wb") as out:
            try:
                for _ in range(256):
                    out.write(b"x" * (1 << 20))
                    out.flush()
            finally:
                size = os.path.getsize("/tmp/huge")
        """
    result = run(tmp_path, source, "def add(a, b):\n    return a + b\n", limits=Limits(file_mb=16))
    assert result.status is ScoreStatus.scored and not all_passed(result)
    assert all("File too large" in t.message for t in result.tests)


@needs_bwrap
def test_killing_its_parent_or_everything_it_can_reaches_nothing_outside(tmp_path):
    # A process of the sandbox's own uid, outside the sandbox: kill(-1) from inside must not reach it.
    bystander = subprocess.Popen(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                                  "sleep", "60"])
    try:
        source = """
            import os, signal
            for target in (os.getppid(), 1, -1):  # -1: every process this uid may signal
                try:
                    os.kill(target, signal.SIGKILL)
                except OSError:
                    pass
            """
        # In its pid namespace it finds only its own room to kill. Whether the room's worker dies before it
        # answers is a race inside that namespace (a loaded machine let it answer every test): the judge reports
        # the tests either way, and nothing outside is touched.
        result = run(tmp_path, source, CORRECT)
        assert result.status is ScoreStatus.scored and len(result.tests) == 3
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


@needs_bwrap
def test_a_forged_report_cannot_reach_the_judge(tmp_path):
    result = run(tmp_path, FORGE, WRONG)
    assert result.status is ScoreStatus.scored and len(result.tests) == 3 and not all_passed(result)


@needs_bwrap
def test_a_report_file_written_at_exit_changes_nothing(tmp_path):
    source = """
        import atexit, pathlib
        def forge():
            for name in ["report.xml", "junit.xml", "/tmp/report.xml"]:
                try:
                    pathlib.Path(name).write_text('<testsuite tests="3" failures="0"/>')
                except OSError:
                    pass
        atexit.register(forge)
        """
    result = run(tmp_path, source, WRONG)
    assert result.status is ScoreStatus.scored and not all_passed(result)


@needs_bwrap
def test_writing_outside_the_work_dir_is_refused(tmp_path):
    target = tmp_path / "outside.txt"
    source = f"""
        import pathlib
        for path in [{str(target)!r}, "/etc/pwned", "/usr/pwned"]:
            try:
                pathlib.Path(path).write_text("x")
            except OSError:
                pass
        """
    assert all_passed(run(tmp_path, source, CORRECT))
    assert not target.exists() and not os.path.exists("/etc/pwned") and not os.path.exists("/usr/pwned")


@needs_bwrap
def test_keys_in_the_environment_and_home_are_out_of_reach(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED_KEY)
    monkeypatch.setenv("HOME", str(plant_home(tmp_path)))
    assert all_passed(run(tmp_path, look_for_keys(tmp_path / "home"), CORRECT_UNLESS_FOUND))


@needs_bwrap
def test_no_network_not_even_the_hosts_loopback(tmp_path):
    hits = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Thread(target=server.serve_forever, daemon=True).start()
    source = f"""
        import urllib.request
        try:
            urllib.request.urlopen("http://127.0.0.1:{server.server_address[1]}/leak", timeout=2)
            reached = True
        except OSError:
            reached = False
        """
    try:
        assert all_passed(run(tmp_path, source, "def add(a, b):\n    return 0 if reached else a + b\n"))
    finally:
        server.shutdown()
        server.server_close()
    assert hits == []


@needs_bwrap
def test_replacing_the_hidden_tests_does_not_work(tmp_path):
    source = """
        import os, pathlib
        suite = pathlib.Path(os.environ["HARNESS_IMPL_DIR"]).parent / "suite"
        for name in ["test_adder.py", "conftest.py"]:
            try:
                (suite / name).write_text("def test_forged():\\n    pass\\n")
            except OSError:
                pass
        """
    result = run(tmp_path, source, WRONG)
    assert result.status is ScoreStatus.scored and not all_passed(result)
    assert {t.test_id.split("::")[1] for t in result.tests} == {"test_small", "test_negative", "test_zero"}


# Holes no walk can see (a file unlinked while open, grown with fallocate past its size) in the shared dir and
# /tmp: both are capped tmpfs mounts, filled to the last block, and the record says `disk`.
HOLES_ATTACK = f"""import os, subprocess, sys
subprocess.run([sys.executable, "-c", {HOLES!r}, os.path.dirname(sys.argv[1]), "/tmp"])
"""
SWEEP_CASES = {  # case -> (implementation, the status its record must carry, and whether it passed)
    "loop": (LOOP, "timeout", False),
    **({"fork-bomb": (FORK_BOMB + CORRECT, "processes", False),  # hits the sandbox sees only through a cgroup
        "memory-bomb": (MEMORY_BOMB + CORRECT, "memory", False)} if cgroups.usable() else {}),
    "flood": (textwrap.dedent(FLOOD) + CORRECT, "output", False),
    "fill-disk": (textwrap.dedent(FILL_DISK) + CORRECT, "disk", False),
    **({"holes": (HOLES_ATTACK + CORRECT, "disk", False)} if can_mount() else {}),
    "forge": (textwrap.dedent(FORGE) + WRONG, "scored", False),  # finds no report pipe: an honest failure
    "keys": (None, "scored", True),  # look_for_keys(home): scored and passing, as it found nothing
}


@needs_bwrap
def test_a_sweep_over_the_corpus_records_each_attack_and_harms_nothing(tmp_path):
    specs, cases, runs = tmp_path / "specs", tmp_path / "cases", tmp_path / "runs"
    make_spec(specs, time_limit_s=10)  # room for a loaded machine: a limit named by the sandbox comes first
    home = plant_home(tmp_path)
    (tmp_path / "scoring").mkdir()  # the scorer's work dirs: they must be gone at the end
    for name, (source, *_) in SWEEP_CASES.items():
        (cases / name).mkdir(parents=True)
        (cases / name / "adder.py").write_text(source or look_for_keys(home) + CORRECT_UNLESS_FOUND)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    proc = run_harness(f"runs_dir={runs}", f"specs_dir={specs}", "spec=semver", "spec.name=adder",
                       "experiment.name=hostile", "generator=import", "sandbox=bwrap", "sandbox.processes=64",
                       "sandbox.disk_mb=128", "sandbox.memory_mb=512", "temperature=0.0", "seed=0",
                       "generator.import_path=" + ",".join(str(cases / name) for name in SWEEP_CASES),
                       env={"OPENAI_API_KEY": PLANTED_KEY, "HOME": str(home), "TMPDIR": str(tmp_path / "scoring")},
                       timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = [json.loads(p.read_text()) for p in (runs / "hostile" / "trials").glob("*.json")]
    got = {Path(r["config"]["generator"]["import_path"]).name: (r["status"], r["passed_all"]) for r in records}
    assert got == {name: (status, passed) for name, (_, status, passed) in SWEEP_CASES.items()}
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and not p.is_relative_to(runs)}
    assert after == before  # nothing outside the runs dir was changed or added
    assert nobodys_processes(tmp_path) == []
    leaked = [p for p in runs.rglob("*") if p.is_file() and PLANTED_KEY.encode() in p.read_bytes()]
    assert leaked == []


# Code under the process backend finds the runs dir through /proc: the harness's command line names it. It keeps
# to runs dirs under the test's own tmp dir (MINE, filled in when written): another harness on the machine (a
# colleague's test session, a real sweep) names its runs dir the same way, and its records are not ours to rewrite.
FIND_RUNS = """
    import json, os, pathlib
    def runs_dirs():
        found = set()
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                args = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\\0")
                cwd = os.readlink(f"/proc/{pid}/cwd")
            except OSError:
                continue
            found |= {os.path.join(cwd, a.split("=", 1)[1]) for a in args if a.startswith("runs_dir=")}
        return [pathlib.Path(f) for f in found if os.path.isdir(f) and f.startswith("MINE")]
    def as_passed(record):
        record.update(status="scored", passed_all=True, pass_rate=1.0, tests_passed=record["tests_total"])
        return json.dumps(record)
    """
REWRITE_RECORDS = FIND_RUNS + """
    for runs in runs_dirs():
        for path in runs.glob("*/trials/*.json"):
            try:
                path.write_text(as_passed(json.loads(path.read_text())))
            except (OSError, ValueError, KeyError):
                pass
    """
POISON_CACHE = FIND_RUNS + """
    for runs in runs_dirs():
        for path in runs.glob("*/cache/*/*.json"):
            try:
                path.write_text('{"poisoned": true}')
            except OSError:
                pass
    """
# Leaves its session and its parents, then waits for its own record to rewrite it, after the harness is gone.
DAEMON = FIND_RUNS + """
    import time
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            found, deadline = [], time.time() + 60
            while time.time() < deadline:
                found = found or runs_dirs()
                for path in [p for runs in found for p in runs.glob("*/trials/*.json")]:
                    try:
                        record = json.loads(path.read_text())
                        if record["config"]["generator"]["import_path"].endswith("daemon"):
                            path.write_text(as_passed(record))
                    except (OSError, ValueError, KeyError):
                        pass
                time.sleep(0.2)
        os._exit(0)
    """
PROC_CASES = {"honest": "", "rewrite-records": REWRITE_RECORDS, "poison-cache": POISON_CACHE, "daemon": DAEMON}
BACKENDS = ["process"] + (["bwrap"] if bwrap_available() else [])


def living(under: Path) -> list[str]:
    """Processes, of any user, started from `under`, zombies aside (dead, waiting to be reaped)."""
    ps = subprocess.run(["ps", "-eo", "pid,stat,args"], capture_output=True, text=True).stdout.splitlines()
    return [line for line in ps if str(under) in line and " Z" not in line]


@pytest.mark.parametrize("backend", BACKENDS)
def test_attacks_on_the_runs_dir_through_proc(backend, tmp_path):
    """Under bwrap each attack finds nothing: every record stays an honest failure, the cache stays as it was and
    no process outlives its trial. Under process the first two get through, as docs/sandbox.md says, and every record
    says `process`; a daemon still dies with its run where a cgroup holds it."""
    if backend == "process" and not cgroups.usable():
        pytest.skip("without a cgroup the process sandbox cannot find the daemon (docs/sandbox.md says so)")
    specs, cases, runs = tmp_path / "specs", tmp_path / "cases", tmp_path / "runs"
    make_spec(specs, time_limit_s=10)
    for name, attack in PROC_CASES.items():
        (cases / name).mkdir(parents=True)
        (cases / name / "adder.py").write_text(textwrap.dedent(attack).replace("MINE", str(tmp_path)) + WRONG)
    entry = ResponseCache(runs / "proc" / "cache", CacheMode.use)
    entry.put("ab" * 32, {"reply": "an honest answer"})
    cached = entry.path("ab" * 32).read_bytes()
    (tmp_path / "scoring").mkdir()
    proc = run_harness(f"runs_dir={runs}", f"specs_dir={specs}", "spec=semver", "spec.name=adder",
                       "experiment.name=proc", "generator=import", f"sandbox={backend}", "temperature=0.0", "seed=0",
                       "generator.import_path=" + ",".join(str(cases / name) for name in PROC_CASES),
                       # one trial at a time, in PROC_CASES' order: under process, the rewrite of every record
                       # would otherwise also reach the records of trials that ended before it, the daemon's too
                       "launch.concurrency=1", env={"TMPDIR": str(tmp_path / "scoring")}, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    time.sleep(1.5)  # the daemon, were it alive, looks for its record every 0.2 s
    records = {Path(r["config"]["generator"]["import_path"]).name: r
               for r in map(json.loads, map(Path.read_text, (runs / "proc" / "trials").glob("*.json")))}
    assert sorted(records) == sorted(PROC_CASES) and {r["sandbox"] for r in records.values()} == {backend}
    assert living(tmp_path) == [] and not records["daemon"]["passed_all"]
    if backend == "bwrap":
        assert all(r["status"] == "scored" and not r["passed_all"] for r in records.values())
        assert entry.path("ab" * 32).read_bytes() == cached
    else:  # docs/sandbox.md's "What the sandbox cannot promise": the process backend cannot keep these out of runs/
        assert records["honest"]["passed_all"] and entry.path("ab" * 32).read_bytes() != cached
