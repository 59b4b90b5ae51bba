"""Programs in the implementation's room: a CLI run as a script in a worker, or a subprocess the suite watches.
Standalone: copied as `harness_room_programs.py` beside the room's server (harness/inside/harness_room_server.py).
"""

import base64
import builtins
import io
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time

from harness_room_wire import bridge, in_folder, recv
from harness_room_zygotes import WarmProcess, warm_start

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
        self.proc = zygotes and warm_start(zygotes, request, piped=feed is not None or hold)
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
    if isinstance(proc, WarmProcess):
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
