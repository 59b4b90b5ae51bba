"""Warm programs: a spec's `warm_imports` make the implementation's room fork the Python programs its suite starts
from a warm interpreter (harness/inside/harness_room_zygote.py). A program must not be able to tell, but by the
modules already imported: the suite below starts each kind of program twice in one room, once warm and once cold
(an environment seen for the first time starts cold), and compares all it can observe."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config.schema import SandboxConfig, SandboxKind
from harness.sandbox.backends import bwrap_available, make_sandbox
from harness.scoring.rooms import score
from harness.specs.loading import load_spec

PROGRAM = r'''
import atexit, json, os, signal, sys, threading

mode = sys.argv[1]
if mode == "report":
    fds = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
    print(json.dumps({
        "argv": sys.argv, "path0": sys.path[0], "name": __name__, "file": __file__, "cwd": os.getcwd(),
        "env": {k: v for k, v in os.environ.items() if k != "RUN"}, "stdin": sys.stdin.read(),
        "sigint": getattr(signal.getsignal(signal.SIGINT), "__name__", str(signal.getsignal(signal.SIGINT))),
        "sigpipe": str(signal.getsignal(signal.SIGPIPE)), "sigchld": str(signal.getsignal(signal.SIGCHLD)),
        "fds": fds[:4], "group_leader": os.getpgid(0) == os.getpid(),
        "buffering": [sys.stdout.line_buffering, sys.stderr.line_buffering, sys.stdout.write_through],
        "encodings": [sys.stdin.encoding, sys.stdout.encoding, sys.stderr.errors, sys.stdout.errors],
        "names": [sys.stdin.name, sys.stdout.name, sys.stderr.name], "main": sys.modules["__main__"].__dict__.get("mode"),
        "flags": [sys.flags.no_site, sys.flags.isolated, sys.flags.dont_write_bytecode, sys.flags.safe_path],
        "site": "site" in sys.modules, "stdout": type(sys.stdout.buffer).__name__,
    }, sort_keys=True))
elif mode == "exit":
    sys.exit(int(sys.argv[2]))
elif mode == "message":
    sys.exit("leaving with a message")
elif mode == "raise":
    def deeper():
        raise ValueError("boom")
    deeper()
elif mode == "kill":
    sys.stdout.write("unflushed")
    os.kill(os.getpid(), signal.SIGKILL)
elif mode == "ending":
    kept = open(sys.argv[2], "w")  # never closed: a cold interpreter flushes it as it ends
    kept.write("written at the end")
    atexit.register(lambda: print("atexit ran", flush=True))
    threading.Thread(target=lambda: (__import__("time").sleep(0.2), print("thread finished"))).start()
    print("main returned")
elif mode == "raw":
    sys.stdout.buffer.write(b"raw bytes")  # under PYTHONUNBUFFERED, written before the abrupt end
    os._exit(0)
elif mode == "interrupt":
    threading.Thread(target=lambda: (__import__("time").sleep(0.2), print("thread finished", flush=True))).start()
    raise KeyboardInterrupt
elif mode == "log":
    with open(sys.argv[2], "a") as log:
        log.write("ran\n")
elif mode == "patch":
    import email.mime.text
    email.mime.text.MIMEText = None  # in the warm interpreter's module: the next program must not see it
    print("patched")
elif mode == "patched":
    import email.mime.text
    print(email.mime.text.MIMEText is not None)
elif mode == "warm":
    print(any(name in sys.modules for name in ("email.mime.text", "yaml")))
'''

SUITE = r'''
import json, os, sys, uuid
import harness_room

IMPL = os.environ["HARNESS_IMPL_DIR"]


def run(*args, tmp, stdin=None, cold=False, script="program.py", env=(), relative=False):
    environment = {**os.environ, **dict(env)}
    environment.pop("PYTEST_CURRENT_TEST", None)  # the same environment for every test's programs
    if cold:
        environment["RUN"] = uuid.uuid4().hex  # an environment never seen before: its first program starts cold
    path, cwd = (script, IMPL) if relative else (os.path.join(IMPL, script), tmp)
    with harness_room.spawn([sys.executable, path, *args], cwd=cwd, env=environment, stdin=stdin) as proc:
        done = proc.wait(60)
    return done.code, done.stdout.decode(), done.stderr.decode()


def warm_and_cold(*args, tmp, env=(), **options):
    for _ in range(2):  # the environment asked for twice: its zygote is started
        run("warm", tmp=tmp, env=env)
    return run(*args, tmp=tmp, env=env, **options), run(*args, tmp=tmp, cold=True, env=env, **options)


def differences(warm, cold):
    """What differs between two runs of `report`, key by key."""
    if warm[0] or cold[0] or warm[2] or cold[2]:
        return [warm, cold]
    seen = [json.loads(out) for out in (warm[1], cold[1])]
    return {key: (seen[0].get(key), seen[1].get(key)) for key in seen[0] if seen[0].get(key) != seen[1].get(key)}


def test_the_warm_program_was_forked_warm(tmp_path):
    warm, cold = warm_and_cold("warm", tmp=tmp_path)
    assert (warm[1], cold[1]) == ("True\n", "False\n"), (warm, cold)


def test_a_report_of_everything_a_program_sees(tmp_path):
    for options in ({"stdin": "typed\r\nlines\r"}, {"relative": True},  # `python program.py` in its folder
                    {"env": {"PYTHONUNBUFFERED": "1", "PYTHONSAFEPATH": "1"}}):
        assert differences(*warm_and_cold("report", "x y", tmp=tmp_path, **options)) == {}, options
    warm, cold = warm_and_cold("raw", tmp=tmp_path, env={"PYTHONUNBUFFERED": "1"})
    assert warm == cold == (0, "raw bytes", "")


def test_exit_codes(tmp_path):
    for args in (["exit", "0"], ["exit", "3"], ["exit", "300"], ["message"], ["raise"], ["kill"], ["interrupt"]):
        warm, cold = warm_and_cold(*args, tmp=tmp_path)
        assert warm == cold, args


def test_the_end_of_a_program(tmp_path):
    warm, cold = warm_and_cold("ending", str(tmp_path / "kept.txt"), tmp=tmp_path)
    assert warm == cold and (tmp_path / "kept.txt").read_text() == "written at the end"


def test_a_syntax_error_and_a_missing_script(tmp_path):
    assert warm_and_cold(tmp=tmp_path, script="broken.py")[0] == warm_and_cold(tmp=tmp_path, script="broken.py")[1]
    warm, cold = warm_and_cold(tmp=tmp_path, script="missing.py")
    assert warm == cold and warm[0] == 2


def test_a_zygote_slow_to_import_starts_programs_cold_and_never_runs_them_late(tmp_path):
    # slowmod, on this environment's PYTHONPATH, is among the spec's warm imports: the zygote takes 9 s to start,
    # past the 6 s a program waits for it (WARM_WAIT_S), and the suite gives a spawn 10 s. The second program
    # gives up on it and starts cold; its job must never run when the zygote is ready; the third is forked warm.
    (tmp_path / "slowmod.py").write_text("import time\ntime.sleep(9)\n")
    env = {"PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    for _ in range(3):
        assert run("log", str(tmp_path / "log"), tmp=tmp_path, env=env)[0] == 0
    import time
    time.sleep(8)  # the zygote has imported, and found no one waiting for the programs it was asked for
    assert (tmp_path / "log").read_text() == "ran\n" * 3


def test_a_patch_in_one_program_is_not_seen_by_the_next(tmp_path):
    warm_and_cold("patch", tmp=tmp_path)
    assert run("patched", tmp=tmp_path)[1] == "True\n"
'''


def warm_spec(root: Path, extra_impl: dict[str, str] | None = None,
              warm_imports: str = "email.mime.text, slowmod") -> Path:
    folder = root / "programs"
    (folder / "suite").mkdir(parents=True)
    (folder / "reference").mkdir()
    (folder / "spec.md").write_text("# programs\n\nprogram.py does what its first argument says.\n")
    (folder / "manifest.yaml").write_text(
        "name: programs\ntitle: Programs\nentry_files: [program.py]\ntime_limit_s: 120\n"
        f"warm_imports: [{warm_imports}]\n")
    (folder / "suite" / "test_programs.py").write_text(SUITE)
    (folder / "reference" / "program.py").write_text(PROGRAM)
    (folder / "reference" / "broken.py").write_text("def broken(:\n    pass\n")
    for name, text in (extra_impl or {}).items():
        (folder / "reference" / name).write_text(text)
    return folder


BACKENDS = [SandboxKind.process] + ([SandboxKind.bwrap] if bwrap_available() else [])


def outcomes(result) -> dict[str, str]:
    return {t.test_id.rpartition("::")[2]: t.outcome for t in result.tests}


@pytest.mark.parametrize("kind", BACKENDS, ids=lambda k: k.name)
def test_a_warm_program_sees_what_a_cold_one_sees(tmp_path, kind):
    spec = load_spec(tmp_path, warm_spec(tmp_path).name)
    result = score(spec, spec.reference_dir, make_sandbox(SandboxConfig(kind=kind)))
    assert set(outcomes(result).values()) == {"passed"}, [(t.test_id, t.message) for t in result.tests]
    assert len(result.tests) == 7


def test_sandbox_warm_false_starts_every_program_cold(tmp_path):
    spec = load_spec(tmp_path, warm_spec(tmp_path).name)
    result = score(spec, spec.reference_dir, make_sandbox(SandboxConfig(kind=BACKENDS[-1], warm=False)))
    got = outcomes(result)
    assert got.pop("test_the_warm_program_was_forked_warm") == "failed"
    assert set(got.values()) == {"passed"}, [(t.test_id, t.message) for t in result.tests]


def test_a_module_in_the_implementations_folder_of_a_warm_name_starts_the_program_cold(tmp_path):
    # A cold start would import the implementation's own `yaml` first, not the zygote's: so it starts cold.
    spec = load_spec(tmp_path, warm_spec(tmp_path, {"yaml.py": "MARK = 'the implementation'\n"}, "yaml").name)
    result = score(spec, spec.reference_dir, make_sandbox(SandboxConfig(kind=BACKENDS[-1])))
    assert outcomes(result)["test_the_warm_program_was_forked_warm"] == "failed"  # declined: started cold
