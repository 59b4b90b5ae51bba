"""Programs in the implementation's room: a CLI run as a script in a worker, or a subprocess the suite watches.
Standalone: copied as `harness_room_programs.py` beside the room's server (harness/inside/harness_room_server.py).
"""

import base64
import builtins
import io
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time

from harness_room_wire import bridge, in_folder, recv

# Kept of each stream of a program; past it, what the program writes goes to the room's own stream, where the
# sandbox's output limit counts it: a flood is charged as `output` whether a subprocess or a script made it.
OUTPUT_CAP = 16 << 20
# A subprocess gets a process group of its own, so that killing it takes down what it started, not the worker.
_NEW_GROUP = {"process_group": 0} if sys.version_info >= (3, 11) else {"preexec_fn": os.setpgrp}


def run_script(request):
    """Run a script as __main__ in this worker, with argv, streams and cwd swapped in, and restored after."""
    stdin, out, err = io.BytesIO(base64.b64decode(request["stdin"])), _Kept(1), _Kept(2)
    streams = [io.TextIOWrapper(stream, encoding="utf-8") for stream in (stdin, out, err)]
    saved = (sys.argv, sys.stdin, sys.stdout, sys.stderr, os.getcwd())
    os.chdir(request["cwd"])
    sys.argv = [request["path"], *request["args"]]
    sys.stdin, sys.stdout, sys.stderr = streams
    try:
        _run_main(request["path"])
        code = 0
    except SystemExit as exc:
        code = _exit_code(exc)
    except BaseException:  # an uncaught exception ends a real process with status 1 and a traceback
        import traceback
        traceback.print_exc()
        code = 1
    finally:
        for stream in streams[1:]:
            try:
                stream.flush()
            except Exception:
                pass
        sys.argv, sys.stdin, sys.stdout, sys.stderr, cwd = saved
        os.chdir(cwd)
    return {"code": code, "stdout": _b64(out.getvalue()), "stderr": _b64(err.getvalue())}


def _run_main(path):
    """Run the file as `python path` would run it, in a fresh __main__ module. (runpy.run_path does the same
    for a file, but imports pkgutil and typing on the way: ~8 ms the first time, in a room just started.)"""
    with open(path, "rb") as source:
        code = compile(source.read(), path, "exec", dont_inherit=True)
    main = type(sys)("__main__")
    main.__file__, main.__builtins__ = path, builtins
    saved = sys.modules.get("__main__")
    sys.modules["__main__"] = main
    try:
        exec(code, main.__dict__)
    finally:
        sys.modules["__main__"] = saved


class _Kept(io.BytesIO):
    """A stream whose bytes outlive the program closing it; past OUTPUT_CAP they go to the room's stream `fd`."""

    def __init__(self, fd):
        super().__init__()
        self.fd = fd

    def write(self, data):
        room = max(OUTPUT_CAP - self.tell(), 0)
        super().write(data[:room])
        _spill(self.fd, data[room:])
        return len(data)

    def close(self):
        pass


def _spill(fd, data):
    """Write what passed the cap to the room's own stream (its limit ends the room, charged as `output`)."""
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except OSError:  # the room is being ended
            return


def _exit_code(exc):
    """The status a Python process would exit with after `raise SystemExit(exc.code)`."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return int(exc.code)
    print(exc.code, file=sys.stderr)
    return 1


def _b64(data):
    return base64.b64encode(bytes(data)).decode()


def serve_process(conn, request, shared, answer, reply, zygotes=None):
    """Start the subprocess `request` names, then answer `wait` and `kill` until the suite hangs up.

    `shared` is the shared dir where the room's network is its own (else None): the suite's servers are reached
    through relays it offers there. `zygotes`: the socket on which the room's supervisor hands out warm
    interpreters (harness/inside/harness_room_zygote.py), where the spec names modules to import warm."""
    started = []
    reply(answer(lambda: started.append(_Child(request, shared, zygotes)) or started[0].proc.pid, plain=True))
    if not started:
        return
    child = started[0]
    try:
        while True:
            try:
                message = recv(conn)
            except (EOFError, OSError, ValueError):
                return
            if message.get("op") == "kill":
                reply(answer(child.kill, plain=True))
            else:
                reply(answer(lambda: child.wait(float(message.get("timeout", 0))), plain=True))
    finally:
        child.kill()


class _Child:
    def __init__(self, request, shared, zygotes=None):
        self.relays = [_listen(port, in_folder(shared, name)) for port, name in request["forward"]] if shared else []
        feed, hold = request["stdin"], request["hold_stdin"]
        self.proc = zygotes and _warm_start(zygotes, request, piped=feed is not None or hold)
        self.proc = self.proc or subprocess.Popen(
            request["argv"], cwd=request["cwd"], env=request["env"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            stdin=subprocess.PIPE if feed is not None or hold else subprocess.DEVNULL, **_NEW_GROUP)
        self.drains = [_Drain(self.proc.stdout, 1), _Drain(self.proc.stderr, 2)]
        if feed is not None:
            threading.Thread(target=self._feed, args=(base64.b64decode(feed), hold), daemon=True).start()

    def _feed(self, data, hold):
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
            if not hold:
                self.proc.stdin.close()
        except (OSError, ValueError):
            pass

    def wait(self, timeout):
        """The result once the process has exited and closed its output (as communicate() waits); else None."""
        deadline = time.monotonic() + timeout
        if not _ended(self.proc, timeout):
            return None
        self.proc.wait()
        for drain in self.drains:
            drain.join(max(0.0, deadline - time.monotonic()))
        return None if any(drain.is_alive() for drain in self.drains) else self._result()

    def kill(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        self.proc.wait()
        for drain in self.drains:
            drain.join(5)  # a grandchild that left the group may hold a pipe open: do not wait for it
        return self._result()

    def _result(self):
        for closable in [self.proc.stdin, *self.relays]:
            try:
                closable and closable.close()
            except OSError:
                pass
        return {"code": self.proc.returncode, "stdout": _b64(self.drains[0].data),
                "stderr": _b64(self.drains[1].data)}


def _ended(proc, timeout):
    """Whether `proc` has exited, waiting at most `timeout` seconds. Its pidfd wakes the wait the moment it ends,
    where Popen.wait(timeout) sleeps in steps growing to 50 ms: a suite polling an agent every 0.2 s paid up to
    that much per run. Not reaped here, so the pid stays this child's until kill or wait reaps it."""
    if proc.returncode is not None:
        return True
    if isinstance(proc, _WarmProcess):
        return proc.ended(timeout)
    pidfd = os.pidfd_open(proc.pid)
    try:
        ended = select.poll()
        ended.register(pidfd, select.POLLIN)
        return bool(ended.poll(max(0.0, timeout) * 1000))
    finally:
        os.close(pidfd)


class _Drain(threading.Thread):
    def __init__(self, stream, fd):
        super().__init__(daemon=True)
        self.stream, self.fd, self.data = stream, fd, bytearray()
        self.start()

    def run(self):
        while chunk := self.stream.read1(65536):
            room = max(OUTPUT_CAP - len(self.data), 0)
            self.data += chunk[:room]
            _spill(self.fd, chunk[room:])


def _listen(port, path):
    """Listen on `port` of the room's loopback and carry each connection to the suite's Unix socket `path`."""
    listener = socket.create_server(("127.0.0.1", int(port)))

    def serve():
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX)
            try:
                upstream.connect(str(path))
            except OSError:
                client.close()
                upstream.close()
                continue
            bridge(client, upstream)

    threading.Thread(target=serve, daemon=True).start()
    return _Closing(listener)


class _Closing:
    def __init__(self, listener):
        self.listener = listener

    def close(self):
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() above
        except OSError:
            pass
        self.listener.close()


# ---------------------------------------------------------------- a program forked from a warm interpreter

# A zygote still importing past this, the program starts cold: well within the 10 s the suite gives a spawn.
WARM_ANSWER_S = 3
CALL_S = 5  # a zygote that has answered forks the program at once


def _warm_start(zygotes, request, piped):
    """The program started from a warm interpreter of the room's, as a Popen-like _WarmProcess; None where it
    must start cold: not `python SCRIPT.py ...`, no zygote for its environment, or one that declined it."""
    argv = request["argv"]
    if len(argv) < 2 or argv[0] != sys.executable or not argv[1].endswith(".py") or argv[1].startswith("-"):
        return None
    sockets, fds = [], []  # closed here, but for those the process keeps
    try:
        env = dict(os.environ) if request["env"] is None else request["env"]  # None: this room's, as Popen does
        zygote = _ask(zygotes, {"python": argv[0], "env": env})
        if zygote is None:
            return None
        answer, theirs = socket.socketpair()
        sockets += [zygote, answer, theirs]
        stdin = os.pipe() if piped else (os.open(os.devnull, os.O_RDONLY), None)
        fds += [fd for fd in stdin if fd is not None]
        out, err = os.pipe(), os.pipe()
        fds += [*out, *err]
        socket.send_fds(zygote, [json.dumps({"argv": argv[1:], "cwd": request["cwd"]}).encode()],
                        [stdin[0], out[1], err[1], theirs.fileno()])
        lines = _Lines(answer)
        ready = lines.next(WARM_ANSWER_S)
        if not (ready and "ready" in ready):  # declined (`cold`), or still importing: closing says so
            return None
        answer.sendall(b"g")
        first = lines.next(CALL_S)
        if not (first and "pid" in first):
            return None
        sockets.remove(answer)
        for kept in (stdin[1], out[0], err[0]):
            kept is None or fds.remove(kept)
        return _WarmProcess(first["pid"], lines, stdin[1], out[0], err[0])
    except (OSError, ValueError):
        return None
    finally:
        for sock in sockets:
            sock.close()
        for fd in fds:
            os.close(fd)


def _ask(zygotes, request):
    """The supervisor's socket to a zygote started with exactly this interpreter and environment, or None."""
    mine, theirs = socket.socketpair()
    try:
        socket.send_fds(zygotes, [json.dumps(request).encode()], [theirs.fileno()])
        theirs.close()
        mine.settimeout(WARM_ANSWER_S)
        _, fds, _, _ = socket.recv_fds(mine, 4096, 1)
        return socket.socket(fileno=fds[0]) if fds else None
    finally:
        mine.close()
        theirs.close()


class _Lines:
    """JSON lines from a zygote's monitor, read with a timeout."""

    def __init__(self, sock):
        self.sock, self.buffer = sock, b""

    def next(self, timeout):
        """The next message; None at the end of the stream; "" if none came within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            ready = select.select([self.sock], [], [], max(0.0, deadline - time.monotonic()))[0]
            if not ready:
                return ""
            chunk = self.sock.recv(4096)
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return json.loads(line)


class _WarmProcess:
    """What _Child uses of a Popen, for a program a zygote forked: its monitor reports how it ended."""

    def __init__(self, pid, lines, stdin, stdout, stderr):
        self.pid, self.lines, self.returncode = pid, lines, None
        self.stdin = os.fdopen(stdin, "wb") if stdin is not None else None
        self.stdout, self.stderr = os.fdopen(stdout, "rb"), os.fdopen(stderr, "rb")

    def ended(self, timeout):
        if self.returncode is None:
            message = self.lines.next(timeout)
            if message == "":
                return False
            # a monitor that ended without a word was killed with the room, and its program with it
            self.returncode = message["code"] if message else -signal.SIGKILL
            self.lines.sock.close()
        return True

    def wait(self):
        while not self.ended(3600):
            pass
        return self.returncode
