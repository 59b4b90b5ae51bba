"""Warm interpreters in the implementation's room (harness/inside/harness_room_zygote.py is one): the
supervisor's side, which starts one per environment and hands it out, and a worker's, which has a program forked
from it. Standalone: copied beside the room's server (harness/inside/harness_room_server.py).
"""

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time

MAX_ZYGOTES = 4  # warm interpreters a room starts (one per environment its programs are given); then cold
ZYGOTE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "harness_room_zygote.py")


class Zygotes:
    """The supervisor's: workers ask on one end of a socketpair (only a worker holds it), answered here."""

    def __init__(self, warm_imports):
        self.warm_imports = list(warm_imports)
        self.asks, self.worker_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.started = {}  # (python, environment) -> (its process, the supervisor's end of its socket)
        self.asked = {}  # (python, environment) -> how many programs asked for it

    def pids(self):
        return [process.pid for process, _ in self.started.values()]

    def for_worker(self):
        """In a worker just forked: the end it asks on, and nothing else of the supervisor's."""
        self.asks.close()
        for _, zygote in self.started.values():
            zygote.close()
        return self.worker_end

    def hand_out(self):
        """Answer a worker's ask: the socket of the zygote for exactly its python and environment, started at the
        second ask for them (it imports while the worker waits for its program); nothing at the first ask,
        past MAX_ZYGOTES, or if the interpreter cannot be started."""
        try:
            data, fds, _, _ = socket.recv_fds(self.asks, 1 << 20, 1)
        except OSError:
            return
        if not fds:
            return
        reply = socket.socket(fileno=fds[0])
        try:
            ask = json.loads(data)
            key = json.dumps([ask["python"], sorted(ask["env"].items())])
            self.asked[key] = self.asked.get(key, 0) + 1
            # The first program of an environment starts cold: a zygote costs more than one cold start.
            if key not in self.started and self.asked[key] > 1 and len(self.started) < MAX_ZYGOTES:
                ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
                try:
                    process = subprocess.Popen(
                        [ask["python"], ZYGOTE, str(theirs.fileno()), *self.warm_imports], env=ask["env"],
                        pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                        start_new_session=True)
                except (OSError, ValueError, TypeError):
                    ours.close()
                else:
                    self.started[key] = (process, ours)
                finally:
                    theirs.close()
            if key in self.started:
                socket.send_fds(reply, [b"{}"], [self.started[key][1].fileno()])
            else:
                reply.send(b"{}")
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass
        finally:
            reply.close()


# A program waits this long in all for its zygote to be ready, then starts cold; with CALL_S, within the 10 s the
# suite gives a spawn. Waiting is nearly always cheaper than giving up: a cold start makes the same imports, and
# when a suite starts many programs at once (the agent's starts eight) while their zygote imports, all of them
# going cold at once cost a cold import each on every core (measured: 11 s for the first eight agent runs of a
# scoring run, against 1 to 3 s once warm).
WARM_WAIT_S = 6
CALL_S = 3  # a zygote that has answered forks the program at once


def warm_start(zygotes, request, piped):
    """The program started from a warm interpreter of the room's, as a Popen-like WarmProcess; None where it
    must start cold: not `python SCRIPT.py ...`, no zygote for its environment, or one that declined it."""
    argv = request["argv"]
    if len(argv) < 2 or argv[0] != sys.executable or not argv[1].endswith(".py") or argv[1].startswith("-"):
        return None
    sockets, fds = [], []  # closed here, but for those the process keeps
    try:
        env = dict(os.environ) if request["env"] is None else request["env"]  # None: this room's, as Popen does
        deadline = time.monotonic() + WARM_WAIT_S
        zygote = _ask(zygotes, {"python": argv[0], "env": env}, WARM_WAIT_S)
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
        ready = lines.next(deadline - time.monotonic())
        if not (ready and "ready" in ready):  # declined (`cold`), or still importing: closing says so
            return None
        answer.sendall(b"g")
        first = lines.next(CALL_S)
        if not (first and "pid" in first):
            return None
        sockets.remove(answer)
        for kept in (stdin[1], out[0], err[0]):
            kept is None or fds.remove(kept)
        return WarmProcess(first["pid"], lines, stdin[1], out[0], err[0])
    except (OSError, ValueError):
        return None
    finally:
        for sock in sockets:
            sock.close()
        for fd in fds:
            os.close(fd)


def _ask(zygotes, request, timeout):
    """The supervisor's socket to a zygote started with exactly this interpreter and environment, or None."""
    mine, theirs = socket.socketpair()
    try:
        socket.send_fds(zygotes, [json.dumps(request).encode()], [theirs.fileno()])
        theirs.close()
        mine.settimeout(timeout)
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
        readable = select.poll()  # not select(): a worker's descriptors may pass FD_SETSIZE
        readable.register(self.sock, select.POLLIN)
        while b"\n" not in self.buffer:
            if not readable.poll(max(0.0, deadline - time.monotonic()) * 1000):
                return ""
            chunk = self.sock.recv(4096)
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return json.loads(line)


class WarmProcess:
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
