"""A warm suite room: a template that has imported pytest once and forks a fresh child for each scoring run.

    python harness_warm.py SOCKET [--uid N]

Standalone (the harness starts it, in the sandbox, like the other programs of harness/inside/). It imports only
what the harness trusts: pytest and the plugins pytest loads, and the standard library our plugin and the room's
client use. Never the suite, our plugin or anything of the implementation: those are imported by the child, which
dies with its run, so nothing of one run is there for the next.

Per run the harness connects to SOCKET (SOCK_SEQPACKET: each message arrives whole) and sends one JSON message,
{"argv", "env", "cwd", "hide", "tmp_bytes"} (argv is what follows `python -m pytest`), with stdout, stderr and,
where the run reports, the report pipe as passed descriptors. The template forks; the child starts a session of
its own, takes those descriptors, makes its own view of the files (under bwrap: `confine`) and says "ready" on the
connection. The harness reads the child's pid (as the harness sees it) from the kernel's credentials on that
message, puts it in the run's cgroup and sets its rlimits, and only then says "go". The child then drops to uid N
(under bwrap), closes the connection (so nothing it runs can write on it) and runs pytest as `python -m pytest`
would. The template reaps it and writes its wait status on the connection: the exit status comes from the kernel,
not from the child.
"""

import gc
import importlib
import json
import os
import selectors
import socket
import sys

# Imported once here, ahead of any run: pytest and what a run of it loads (its plugin modules by their names in
# _pytest.config), and the standard library of our plugin and of harness_room(_wire). Our own files are not:
# each run loads them from its own copy, with their module state fresh.
STDLIB = ("base64", "builtins", "collections", "itertools", "json", "operator", "secrets", "socket", "struct",
          "threading", "time", "runpy", "atexit", "ctypes", "traceback",
          # What pytest imports only once a run has begun: its debugging plugin's pdb (and what pdb pulls in),
          # faulthandler's, the argument parser's completion hook.
          "pdb", "readline", "faulthandler", "_pytest._argcomplete",
          # The agent suite's fakes and servers (specs/minimal-coding-agent/suite), standard library all.
          "http.server", "http.client", "socketserver", "queue", "concurrent.futures", "ssl", "mimetypes",
          "email.parser", "encodings.idna", "encodings.unicode_escape")


def warm_up():
    import pytest  # noqa: F401
    from _pytest.config import default_plugins, essential_plugins
    for name in (*essential_plugins, *default_plugins):
        try:
            importlib.import_module("_pytest." + name)
        except ImportError:  # a plugin this pytest does not have: a run would not load it either
            pass
    for name in STDLIB:
        importlib.import_module(name)
    # What the template holds now is never garbage: frozen, a child's collections walk only what its run made
    # (pytest's collect at the end of a run among them), and never write to these pages, shared with the template.
    gc.collect()
    gc.freeze()


def child(conn, request, fds, uid):
    """The run's own process: never returns."""
    code = 1
    try:
        os.setsid()
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(fds[0], 1)
        os.dup2(fds[1], 2)
        keep = {0, 1, 2, conn.fileno(), *fds[2:]}
        for fd in os.listdir("/proc/self/fd"):  # the listening socket, other runs' connections, the selector
            if int(fd) not in keep:
                try:
                    os.close(int(fd))
                except OSError:
                    pass
        if uid is not None:  # under bwrap: a view of its own
            confine(request)
        # Still the template's uid: the harness (without CAP_SYS_RESOURCE in a container) may set its rlimits.
        conn.send(b"ready")
        if conn.recv(16) != b"go":
            os._exit(1)  # the harness gave up on this run before it began
        if uid is not None:  # uid N, which drops every capability the template kept
            drop_bounding()
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            drop_inheritable()
        conn.close()
        code = run(request, fds[2:])
    except BaseException:  # on its stderr, where the harness reads why the run never started
        import traceback
        traceback.print_exc()
    finally:
        os._exit(code)


# Mount flags and the one namespace a child makes (linux/mount.h, linux/sched.h).
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_BIND, MS_MOVE, MS_REC, MS_SLAVE = 1, 2, 4, 4096, 8192, 16384, 1 << 19
CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWNET = 0x00020000, 0x08000000, 0x40000000
HOLD = "/run/warm-hold"  # made by the template's bwrap (harness/sandbox/bwrap.py WARM_HOLD)


def drop_bounding():
    """Empty the capability bounding set (PR_CAPBSET_DROP, which needs CAP_SETPCAP): a cold child has none left,
    and what the template kept for mounts must not survive into a suite's run."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in range(64):
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP; EINVAL past the last capability
            break


def drop_inheritable():
    """Clear every capability set, the inheritable one included, which setresuid leaves as it was."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable, twice: all empty
    if libc.capset(header, data) != 0:
        raise OSError(ctypes.get_errno(), "capset")


def open_loopback():
    """Bring up the loopback of the child's own network namespace: concurrent suite rooms (the agent suite's
    servers) then bind their ports apart, as cold ones do, instead of in the template's one namespace."""
    import fcntl
    import struct
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        fcntl.ioctl(sock, 0x8914, struct.pack("16sH14x", b"lo", 0x1 | 0x8 | 0x40))  # SIOCSIFFLAGS: up


def python_under_tmp():
    """The interpreter's and the venv's folders that lie under /tmp, outermost only."""
    found = sorted({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix)})
    found = [p for p in found if p.startswith("/tmp/")]
    return [p for p in found if not any(p.startswith(q + "/") for q in found)]


def confine(request):
    """A mount namespace of the child's own, in which it sees what a cold suite room sees: a private /tmp capped
    at `tmp_bytes`, and under it only its own run's folder (the cwd), with the folders in `hide` covered. The
    template's view of every run's folder (and of its own socket) is gone: they were all under /tmp."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)

    def check(done, what):
        if done != 0:
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()), what)

    def mount(source, target, kind, flags, options=None):
        check(libc.mount(source and source.encode(), target.encode(), kind and kind.encode(), flags,
                         options and options.encode()), target)

    cwd = request["cwd"]
    if not cwd.startswith("/tmp/"):
        raise ValueError(f"a warm child's folder must be under /tmp: {cwd}")
    check(libc.unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWNET), "unshare")
    open_loopback()
    mount(None, "/", None, MS_REC | MS_SLAVE)  # nothing the child mounts reaches the template
    # Python's own folders may lie under /tmp (a venv in a CI checkout there): held open across the new /tmp and
    # bound back, read-only as the template's bwrap mounted them, or pytest's later imports would find nothing.
    held = [(path, os.open(path, os.O_PATH)) for path in python_under_tmp()]
    mount(cwd, HOLD, None, MS_BIND | MS_REC)
    mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={request['tmp_bytes']},mode=1777")
    os.makedirs(cwd, 0o755)
    mount(HOLD, cwd, None, MS_MOVE)
    for path, fd in held:
        os.makedirs(path, 0o755, exist_ok=True)
        mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        os.close(fd)
    for folder in request["hide"]:
        mount("tmpfs", folder, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k,mode=0755")


def run(request, report_fds):
    """`python -m pytest ARGV` in `cwd` with `env`, as a fresh interpreter would have it."""
    import atexit
    import runpy
    import threading
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    if report_fds:
        os.environ["HARNESS_REPORT_FD"] = str(report_fds[0])
    # `python -m` puts the cwd first, then $PYTHONPATH, then the interpreter's own path.
    extra = [p for p in request["env"].get("PYTHONPATH", "").split(os.pathsep) if p]
    sys.path[:] = [request["cwd"], *extra, *sys.path]
    sys.dont_write_bytecode = True
    sys.argv = ["pytest", *request["argv"]]
    try:
        runpy.run_module("pytest", run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as done:
        code = _exit_code(done.code)
    except BaseException:
        import traceback
        traceback.print_exc()
        code = 1
    try:
        threading._shutdown()  # as the interpreter does at exit: wait for the threads it would wait for
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        code = code or 1
    return code


def _exit_code(code):
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def serve(path, uid):
    """Accept runs until the harness goes away; fork one child per run, and write its wait status when it ends."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    server.bind(path)
    server.listen(64)
    selector = selectors.DefaultSelector()
    selector.register(server, selectors.EVENT_READ)
    selector.register(0, selectors.EVENT_READ)  # the harness's pipe: its end (EOF) is the template's
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        for key, _ in selector.select():
            if key.fileobj == 0:
                os._exit(0)
            if key.fileobj is server:
                started = start(server, uid)
                if started is not None:
                    selector.register(*started)
            elif key.data[0] == "ended":  # the harness closed the connection: its pid may go now
                _, pid, conn = key.data
                selector.unregister(conn)
                os.waitpid(pid, 0)
                conn.close()
            else:
                pid, conn = key.data
                selector.unregister(key.fileobj)
                os.close(key.fd)
                found = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)  # a zombie until the harness is done
                status = (found.si_status << 8) if found.si_code == os.CLD_EXITED else found.si_status
                try:
                    conn.send(b"%d" % status)
                except OSError:
                    pass
                selector.register(conn, selectors.EVENT_READ, ("ended", pid, conn))


def start(server, uid):
    """One run's child forked from a request; (its pidfd, EVENT_READ, (pid, connection)) to watch, or None."""
    conn, _ = server.accept()
    try:
        message, fds, _, _ = socket.recv_fds(conn, 1 << 20, 8)
        request = json.loads(message)
    except (OSError, ValueError):
        conn.close()
        return None
    pid = os.fork()
    if pid == 0:
        child(conn, request, fds, uid)
    for fd in fds:
        os.close(fd)
    return os.pidfd_open(pid), selectors.EVENT_READ, (pid, conn)


if __name__ == "__main__":
    args = sys.argv[1:]
    del sys.path[0]  # the folder of `-c` (the cwd): no run's child should import from it
    warm_up()
    serve(args[0], int(args[2]) if args[1:2] == ["--uid"] else None)
