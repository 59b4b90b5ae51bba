"""The hostile corpus, continued: what code under test writes or leaves, and what it may read of the host's /etc.

Real scorer, real sandboxes, under each backend where the attack can be stopped. As in test_hostile.py, an
implementation that hunts for something is correct only if it found nothing.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import textwrap
from pathlib import Path

import pytest

from harness.config.schema import ModelConfig, SandboxConfig, SandboxKind, SyntheticParams
from harness.generation.agent_cli import CommandAgent
from harness.models.gateway import Gateway
from harness.models.synthetic import provider as synthetic_provider
from harness.sandbox.backends import BwrapSandbox, Limits, ProcessSandbox, bwrap_available, make_sandbox
from harness.sandbox.bwrap import ETC
from harness.sandbox.untrusted import TreeCaps
from harness.scoring.rooms import score
from harness.seams import GenerationContext, ScoreStatus
from harness.specs.loading import load_spec
from tests.conftest import deep, make_spec
from tests.sandbox.test_writable import HOLES, HostDisk, needs_mount

BACKENDS = [ProcessSandbox] + ([BwrapSandbox] if bwrap_available() else [])
needs_bwrap = pytest.mark.skipif(not bwrap_available(), reason="bubblewrap is not installed (.ci/run installs it)")
CORRECT = "def add(a, b):\n    return a + b\n"
MB = 1024 * 1024


def scored(tmp_path: Path, source: str, sandbox, time_limit_s: float = 30):
    make_spec(tmp_path / "specs", time_limit_s=time_limit_s)
    impl = tmp_path / "impl"
    impl.mkdir()
    (impl / "adder.py").write_text(source)
    return score(load_spec(tmp_path / "specs", "adder"), impl, sandbox)


@pytest.fixture(autouse=True)
def scratch(tmp_path_factory, monkeypatch) -> Path:
    """The scorer's and the agents' temporary dirs, this test's own. Beside tmp_path, not in it: an agent's gateway
    socket is bound in one, and a socket's path ends at 107 bytes, which tmp_path's long name (longer still under
    pytest-xdist, by its worker's folder) left too few of."""
    folder = tmp_path_factory.mktemp("scratch")
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def mounts_under(folder: Path) -> list[str]:
    with open("/proc/self/mountinfo") as table:
        return [line.split()[4] for line in table if line.split()[4].startswith(str(folder))]


@needs_mount
@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
def test_holes_in_every_writable_place_of_a_room_cost_the_host_no_disk_and_end_as_disk(backend, tmp_path, scratch):
    places = "[os.getcwd(), os.environ['TMPDIR'], os.environ['HOME'], os.path.dirname(sys.argv[1])]"
    if backend is BwrapSandbox:  # under process, /tmp is the host's own, where no cap holds (docs/sandbox.md)
        places += " + ['/tmp']"
    attack = f"""
        import os, subprocess, sys
        subprocess.run([sys.executable, "-c", {HOLES!r}, *set({places})])
        """
    with HostDisk(tmp_path) as disk:
        result = scored(tmp_path, textwrap.dedent(attack) + CORRECT, backend(limits=Limits(disk_mb=128)))
    assert result.status is ScoreStatus.disk, (result.status, result.detail)
    assert disk.grown < 128 * MB, disk.grown
    assert os.listdir(scratch) == [] and mounts_under(tmp_path) == mounts_under(scratch) == []


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
def test_a_folder_past_path_max_left_in_the_shared_dir_is_removed_and_not_an_error(backend, tmp_path,
                                                                                  scratch):
    attack = """
        import os, sys
        here = os.open(os.path.dirname(sys.argv[1]), os.O_RDONLY | os.O_DIRECTORY)
        for _ in range(2300):
            os.mkdir("d", dir_fd=here)
            here, above = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=here), here
            os.close(above)
        os.write(os.open("big.bin", os.O_WRONLY | os.O_CREAT, dir_fd=here), b"x" * (100 << 20))
        """
    result = scored(tmp_path, textwrap.dedent(attack) + CORRECT, backend())
    assert result.status is ScoreStatus.scored and result.passed, result.detail
    assert os.listdir(scratch) == [] and mounts_under(tmp_path) == mounts_under(scratch) == []


@pytest.fixture
def etc_secret():
    """A secret planted in the host's /etc for the test's length (skipped where /etc is not writable)."""
    path = Path("/etc") / f"harness-test-secret-{secrets.token_hex(8)}"
    try:
        path.write_text("etc-secret-" + secrets.token_hex(8))
    except OSError:
        pytest.skip("/etc is not writable here: no secret can be planted in it")
    yield path
    path.unlink()


@needs_bwrap
def test_a_planted_secret_under_etc_is_not_readable_and_etc_holds_only_what_is_named(tmp_path, etc_secret):
    attack = f"""
        import os
        try:
            found = "etc-secret-" in open({str(etc_secret)!r}).read()
        except OSError:
            found = False
        found = found or sorted(os.listdir("/etc")) != {sorted(n for n in ETC if os.path.lexists("/etc/" + n))!r}
        """
    result = scored(tmp_path, textwrap.dedent(attack) + "def add(a, b):\n    return 0 if found else a + b\n",
                    BwrapSandbox())
    assert result.status is ScoreStatus.scored and result.passed, result.tests


DIGGER = """
import os, sys
for where in (os.getcwd(), os.environ["HOME"]):
    here = os.open(where, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(2300):
        os.mkdir("d", dir_fd=here)
        here, above = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=here), here
        os.close(above)
open("adder.py", "w").write("def add(a, b):\\n    return a + b\\n")
"""


@pytest.mark.parametrize("kind", [SandboxKind.process] + [SandboxKind.bwrap] * bwrap_available(),
                         ids=lambda k: k.value)
def test_a_chain_agents_folder_past_path_max_never_breaks_a_retry(kind, tmp_path):
    make_spec(tmp_path / "specs")
    spec = load_spec(tmp_path / "specs", "adder")
    (tmp_path / "agent").mkdir()
    (tmp_path / "agent" / "agent.py").write_text(DIGGER)
    synthetic_provider.register(tmp_path / "specs")
    gateway = Gateway(ModelConfig(name="synthetic", litellm_model="harness/synthetic", synthetic=SyntheticParams()))
    trial = tmp_path / "trial"
    for leftover in ("work", "home"):  # as a killed attempt, or a harness that could not mount, leaves them
        (trial / leftover).mkdir(parents=True)
        deep(trial / leftover, "left over", 2300)
    agent = CommandAgent(["{python}", "{impl}/agent.py"], "task", 120, make_sandbox(SandboxConfig(kind=kind)),
                         "synthetic", TreeCaps.of(SandboxConfig()), impl_dir=tmp_path / "agent")
    for attempt in range(2):  # the second attempt finds what the first left, as a retry does
        generation = agent.generate(spec, GenerationContext(gateway, 0.0, 0, trial))
        assert generation.files == {"adder.py": CORRECT}, (attempt, generation.detail)
        assert "deeper than 32 folders" in generation.detail
    depth = max(len(p.relative_to(trial).parts) for p in trial.rglob("*"))
    assert depth <= 34 and sorted(p.name for p in trial.iterdir() if p.name.startswith(".")) == []
