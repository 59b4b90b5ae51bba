"""A warm interpreter for the Python programs a suite starts in the implementation's room (an agent, run once
per scenario). Standalone: copied beside the room's server, which starts it as the program itself would start,

    <the program's python> harness_room_zygote.py FD MODULE...

with the program's exact environment, once per environment, and only where the spec names MODULEs (trusted
libraries from site-packages, e.g. `openai`, whose imports are most of an agent run: 1.1 s of its 1.2 s of CPU).
It imports them, never from the implementation's folder, then waits on the socket FD (the room's end of a
socketpair; no name another process could find). Each job (a script, its arguments and folder, its three
streams and a socket for the answer) is forked twice: a monitor, which tells the room the program's pid and
then how it ended, and under it the program, run as `python SCRIPT ARGS...` would run it. The zygote itself runs
no code of the implementation, and it ends with its room, so nothing of one trial reaches the next.

What a program can still tell from a cold start (the modules already imported, a shared hash seed, the frames
below its own, its command line in /proc, a session of its own) is listed in specs/README.md. A job is sent
back cold (`{"cold": why}`) when the implementation's folder holds a module of a name already imported here,
which a cold start would have imported from there instead.
"""

import builtins
import gc
import importlib
import importlib.machinery
import io
import json
import os
import select
import signal
import socket
import sys

MAX_MESSAGE = 1 << 20


def main(argv):
    channel = socket.socket(fileno=int(argv[0]))
    if not sys.flags.safe_path:  # (-P, PYTHONSAFEPATH: Python did not put it there)
        del sys.path[0]  # this file's folder: nothing of ours or the implementation's is imported from it
    for name in argv[1:]:
        try:
            importlib.import_module(name)
        except Exception as exc:  # not installed here, or broken: each program imports it itself, as it would cold
            print(f"room: the warm interpreter goes on without {name} ({exc!r})", file=sys.stderr)
    loaded = {name.partition(".")[0] for name in sys.modules}
    # What is imported stays out of every collection: a program's first full collection would otherwise touch
    # each object, and copy each page of them from the zygote (most of a warm program's start, unfrozen).
    gc.freeze()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # monitors are reaped by the kernel
    job = serve(channel, loaded)  # returns only in a program's process
    run(job)


def serve(channel, loaded):
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(channel, MAX_MESSAGE, 4)
        except OSError:
            os._exit(0)
        if not data:  # the room is gone
            os._exit(0)
        if len(fds) != 4:
            _close(fds)
            continue
        if os.fork() == 0:
            channel.close()
            return monitor(json.loads(data), fds, loaded)
        _close(fds)


def monitor(job, fds, loaded):
    """In the monitor: start the program, report its pid, wait, report its status. Returns only in the program."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    answer = socket.socket(fileno=fds[3])
    try:
        clash = shadowed(os.path.dirname(os.path.realpath(job["argv"][0])), loaded)
        if clash:
            _send(answer, {"cold": f"the implementation's folder holds {clash!r}, already imported warm"})
            os._exit(0)
        # The room may have given up waiting while this zygote imported: the program runs only on its word.
        _send(answer, {"ready": True})
        if answer.recv(1) != b"g":
            os._exit(0)
        pid = os.fork()
        if pid == 0:
            answer.close()
            return become_program(job, fds[:3])
        _close(fds[:3])
        try:
            _send(answer, {"pid": pid})
        except OSError:  # the room is gone: watch() kills the program
            pass
        code = watch(pid, answer)
        _send(answer, {"code": code})
    except BaseException:
        pass
    os._exit(0)


def shadowed(folder, loaded):
    """A name in `folder` a cold start would import from there, of a module this zygote has already imported."""
    try:
        entries = os.listdir(folder)
    except OSError:
        return None
    for entry in entries:
        name = entry.partition(".")[0]
        if name in loaded and (entry.endswith((".py", ".pyc", ".so")) or "." not in entry):
            return entry
    return None


def watch(pid, answer):
    """The program's status, as Popen.returncode gives it. A room that hangs up (its suite gave up on the run)
    kills the program's group, as a cold program's would die with the room's worker."""
    pidfd = os.pidfd_open(pid)
    ends = select.poll()
    ends.register(pidfd, select.POLLIN)
    ends.register(answer, select.POLLRDHUP | select.POLLHUP)
    while not any(fd == pidfd for fd, _ in ends.poll()):
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
        ends.unregister(answer)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def become_program(job, streams):
    """In the program's process: its own session and group, its streams on 0, 1 and 2, nothing else open."""
    os.setsid()
    for fd, stream in enumerate(streams):
        os.dup2(stream, fd)
    os.closerange(3, os.sysconf("SC_OPEN_MAX") if os.sysconf("SC_OPEN_MAX") > 0 else 65536)
    os.chdir(job["cwd"])
    sys.stdin, sys.stdout, sys.stderr = (_stdio(0, sys.stdin), _stdio(1, sys.stdout), _stdio(2, sys.stderr))
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = sys.stdin, sys.stdout, sys.stderr
    return job["argv"]


def _stdio(fd, old):
    """A standard stream over `fd` as the interpreter makes one at start-up (Python/pylifecycle.c, create_stdio):
    the encoding and errors it chose for this environment, no newline translation, unbuffered writes under -u
    (PYTHONUNBUFFERED), else line-buffered on a terminal and always for stderr."""
    write = fd != 0
    unbuffered = write and old.write_through
    opened = io.open(fd, "wb" if write else "rb", buffering=0 if unbuffered else -1, closefd=False)
    raw = opened if unbuffered else opened.raw
    raw.name = ("<stdin>", "<stdout>", "<stderr>")[fd]
    stream = io.TextIOWrapper(opened, encoding=old.encoding, errors=old.errors, newline="\n",
                              line_buffering=bool(raw.isatty() or fd == 2) and not old.write_through,
                              write_through=old.write_through)
    stream.mode = "w" if write else "r"
    return stream


def run(argv):
    """`python SCRIPT ARGS...`: the script's folder first on sys.path (unless -P), a fresh __main__ named by the
    script's absolute path, its end as the interpreter's (an uncaught exception through sys.excepthook and
    status 1; SystemExit as it says; KeyboardInterrupt by the signal, after threads and exit handlers)."""
    script = os.path.abspath(argv[0])
    sys.argv = list(argv)
    if not sys.flags.safe_path:
        sys.path.insert(0, os.path.dirname(os.path.realpath(script)))
    try:
        with open(script, "rb") as source:
            text = source.read()
    except OSError as exc:
        print(f"{sys.executable}: can't open file {script!r}: [Errno {exc.errno}] {exc.strerror}", file=sys.stderr)
        sys.exit(2)
    main = type(sys)("__main__")
    main.__file__, main.__builtins__, main.__cached__ = script, builtins, None
    main.__loader__ = importlib.machinery.SourceFileLoader("__main__", script)
    sys.modules["__main__"] = main
    try:
        code = compile(text, script, "exec", dont_inherit=True)
    except SyntaxError as exc:
        _excepthook(exc, None)
        sys.exit(1)
    try:
        exec(code, main.__dict__)
    except SystemExit:
        raise
    except KeyboardInterrupt as exc:
        _excepthook(exc, exc.__traceback__.tb_next)
        import atexit
        import threading
        threading._shutdown()
        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    except BaseException as exc:
        _excepthook(exc, exc.__traceback__.tb_next)
        sys.exit(1)


def _excepthook(exc, traceback):
    """sys.excepthook on `exc` with the frames of the program only (Python prints the exception's own
    traceback, not the one it is given, so that is what is cut)."""
    exc.__traceback__ = traceback
    sys.excepthook(type(exc), exc, traceback)


def _send(sock, message):
    sock.sendall(json.dumps(message).encode() + b"\n")


def _close(fds):
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


if __name__ == "__main__":
    main(sys.argv[1:])
