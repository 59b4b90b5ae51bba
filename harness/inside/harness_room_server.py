"""The implementation's room: the only process that runs the code under test while a suite judges it.
Standalone: the scorer copies it as `harness_room_server.py`, beside `harness_room_wire.py`, into a sandbox that
shows the implementation and a shared dir, never the suite, and runs

    python -S harness_room_server.py SOCKET IMPL_DIR [--private-net] [--site DIR]... [--warm-import MODULE]...

It runs with `python -S` (site-packages without the cost of .pth files: the scorer passes them as --site DIR).
A supervisor listens on SOCKET and forks one worker per connection, each in a session of its own. When the
connection closes (the suite gave up on a call) or the worker ends (the code under test crashed it), the
supervisor kills that session: a hang or a crash costs one worker, never the room. The supervisor never
imports the implementation; a worker imports it on first use and answers, one message at a time:
  getattr / setattr / delattr / call / apply (an operator of OPERATORS) on the implementation's objects;
  plain (a copy of an object whose type derives from a builtin one, for the suite to judge on its own side);
  run_script (a script as __main__, with argv, streams and cwd swapped in);
  spawn, then wait / kill (a subprocess the suite watches). Those two are in harness/inside/harness_room_programs.py.
With --warm-import, a spawned `python SCRIPT.py` is forked from a warm interpreter that has imported the MODULEs
(harness/inside/harness_room_zygote.py): the supervisor starts one per environment a program asks for.
"""

import builtins
import importlib
import operator
import os
import select
import signal
import socket
import sys

import harness_room_programs  # here, not in each worker that runs a program: each would import it afresh
from harness_room_wire import decode, encode, in_folder, recv, send
from harness_room_zygotes import Zygotes

OPERATORS = {
    "hash": hash, "str": str, "repr": repr, "bool": bool, "len": len, "iter": iter, "next": next, "int": int,
    "float": float, "index": operator.index, "neg": operator.neg, "pos": operator.pos, "abs": abs,
    "invert": operator.invert, "format": format, "contains": operator.contains, "getitem": operator.getitem,
    "setitem": operator.setitem, "delitem": operator.delitem, "isinstance": isinstance, "issubclass": issubclass,
    "eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge,
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "truediv": operator.truediv,
    "floordiv": operator.floordiv, "mod": operator.mod, "pow": pow, "and": operator.and_, "or": operator.or_,
    "xor": operator.xor, "lshift": operator.lshift, "rshift": operator.rshift, "matmul": operator.matmul,
}


class Worker:
    """Serves one connection: the implementation's objects it handed out stay alive here, by number."""

    def __init__(self, conn, relays_in, zygotes=None):
        self.conn, self.relays_in, self.pid, self.zygotes = conn, relays_in, os.getpid(), zygotes
        self.objects = {}  # number -> object
        self.numbers = {}  # id(object) -> number, so one object is one handle

    def serve(self):
        while True:
            try:
                request = recv(self.conn)
            except (EOFError, OSError, ValueError):
                return
            if request.get("op") == "spawn":
                harness_room_programs.serve_process(self.conn, request, self.relays_in, self.answer, self.reply,
                                                    self.zygotes)
                return
            self.reply(self.answer(lambda: self.perform(request), path=self.path_of(request)))

    def reply(self, message):
        if os.getpid() != self.pid:  # a fork the implementation made carries on from its call: it must not answer
            os._exit(0)
        send(self.conn, message)

    def answer(self, work, path=None, plain=False):
        try:
            value = work()
            return {"ok": encode(value, _refuse) if plain else self.outgoing(value, path)}
        except BaseException as exc:  # SystemExit and KeyboardInterrupt too: the suite's side decides what to raise
            if os.getpid() != self.pid:
                os._exit(0)
            return {"raised": describe_exception(exc)}

    def perform(self, request):
        op, target = request["op"], request.get("obj")
        if op == "getattr":
            return getattr(self.incoming(target), request["name"])
        if op == "setattr":
            return setattr(self.incoming(target), request["name"], self.incoming(request["value"]))
        if op == "delattr":
            return delattr(self.incoming(target), request["name"])
        if op == "call":
            kwargs = {str(k): self.incoming(v) for k, v in request["kwargs"].items()}
            return self.incoming(target)(*self.incoming(request["args"]), **kwargs)
        if op == "apply":
            return OPERATORS[request["fn"]](*self.incoming(request["args"]))
        if op == "plain":
            return plain_copy(self.incoming(target))
        if op == "run_script":
            return harness_room_programs.run_script(request)
        raise ValueError(f"no operation {op!r}")

    def path_of(self, request):
        """Where a getattr on a named object leads: a name that still works after the worker is replaced."""
        target = request.get("obj")
        if request.get("op") == "getattr" and isinstance(target, dict) and "$path" in target:
            return [*target["$path"], str(request["name"])]
        return None

    def incoming(self, data):
        return decode(data, self._resolve)

    def _resolve(self, tag, body):
        if tag == "$ref":
            return self.objects[body]
        if tag == "$path":  # looked up afresh each time, as the suite's own `semver.parse` would be
            found = sys.modules.get(body[0]) or importlib.import_module(body[0])
            for name in body[1:]:
                found = getattr(found, name)
            return found
        raise ValueError(f"no tag {tag!r}")

    def outgoing(self, value, path):
        def other(obj):
            if isinstance(obj, type) and issubclass(obj, BaseException):
                return {"$exc_class": describe_class(obj)}
            if obj is value and path is not None:
                return {"$path": path}
            if id(obj) not in self.numbers:
                self.numbers[id(obj)] = len(self.objects) + 1
                self.objects[len(self.objects) + 1] = obj  # kept alive, so its id is never reused
            return {"$ref": self.numbers[id(obj)]}
        return encode(value, other)


# A subclass of a builtin type is copied as that type by the base type's own method, never one a subclass can
# override: the copy is the data the object holds, and no code of the implementation runs to make it.
_PLAIN_COPIES = ((str, str.__str__), (int, int.__index__), (float, float.__float__),
                 (bytes, lambda b: bytes.__getitem__(b, slice(None))), (list, list.copy),
                 (tuple, lambda t: tuple.__getitem__(t, slice(None))), (dict, dict.copy), (set, set.copy),
                 (frozenset, frozenset.copy))


def plain_copy(obj):
    """(True, a copy of exact builtin type) for an instance of a subclass of a builtin type, else (False, None).
    type(obj), not isinstance: a class can claim any __class__."""
    for base, copy in _PLAIN_COPIES:
        if issubclass(type(obj), base):
            return True, copy(obj)
    return False, None


def _refuse(obj):
    raise TypeError(f"a {type(obj).__name__} is not plain data")


def describe_class(cls, depth=0):
    """An exception class as the suite's side mirrors it: builtins by name, others by name and ancestry."""
    name = cls.__name__
    if cls.__module__ == "builtins" and getattr(builtins, name, None) is cls:
        return {"builtin": name}
    bases = [describe_class(b, depth + 1) for b in cls.__bases__ if issubclass(b, BaseException)] if depth < 16 else []
    return {"module": str(cls.__module__), "name": str(cls.__qualname__), "bases": bases}


def describe_exception(exc):
    try:
        message = str(exc)
    except BaseException:
        message = f"<{type(exc).__name__} whose message cannot be printed>"
    try:
        args = encode(list(exc.args), _refuse)
    except BaseException:
        args = None
    return {"class": describe_class(type(exc)), "message": message[:20000], "args": args}


class Supervisor:
    """Accepts connections, forks a worker for each, and kills a worker's session when either side ends."""

    def __init__(self, listener, relays_in, warm_imports=()):
        self.listener, self.relays_in = listener, relays_in
        self.poller = select.poll()
        self.poller.register(listener, select.POLLIN)
        self.ends = {}  # fd of a connection or of a worker's pidfd -> (pid, connection, pidfd)
        self.parent = os.getppid()
        self.zygotes = Zygotes(warm_imports) if warm_imports else None
        if self.zygotes:
            self.poller.register(self.zygotes.asks, select.POLLIN)

    def run(self):
        # Under bwrap the room dies with the harness; without it, it must notice being orphaned itself.
        while os.getppid() == self.parent:
            for fd, _ in self.poller.poll(1000):
                if fd == self.listener.fileno():
                    self.accept()
                elif self.zygotes and fd == self.zygotes.asks.fileno():
                    self.zygotes.hand_out()
                elif fd in self.ends:
                    self.end(*self.ends[fd])
        for pid, conn, pidfd in set(self.ends.values()):
            kill_session(pid)
        for pid in self.zygotes.pids() if self.zygotes else ():
            kill_session(pid)

    def accept(self):
        try:
            conn, _ = self.listener.accept()
            pid = os.fork()
        except OSError as exc:  # out of processes or files: this caller's calls fail, the room goes on
            print(f"room: cannot serve a connection: {exc!r}", file=sys.stderr)
            return
        if pid == 0:
            self.become_worker(conn)
        pidfd = os.pidfd_open(pid)
        # The connection is watched only for the suite hanging up; the worker alone reads it.
        self.poller.register(conn, select.POLLRDHUP)
        self.poller.register(pidfd, select.POLLIN)
        self.ends[conn.fileno()] = self.ends[pidfd] = (pid, conn, pidfd)

    def end(self, pid, conn, pidfd):
        # A worker that ended by itself, cleanly, killed what it started in other groups: only its own group
        # can be left. Any other must have its whole session found (a scan of /proc) and killed.
        ended = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)  # not reaped yet: pid stays ours
        clean = ended is not None and ended.si_code == os.CLD_EXITED and ended.si_status == 0
        kill_session(pid, whole=not clean)
        os.waitpid(pid, 0)
        for fd in (conn.fileno(), pidfd):
            self.poller.unregister(fd)
            del self.ends[fd]
        conn.close()  # only now does the suite see the connection end, if the worker ended first
        os.close(pidfd)

    def become_worker(self, conn):
        try:
            self.listener.close()
            for _, other, pidfd in set(self.ends.values()):
                other.close()
                os.close(pidfd)
            os.setsid()
            Worker(conn, self.relays_in, self.zygotes and self.zygotes.for_worker()).serve()
        except BaseException as exc:  # the worker's own failure (the implementation's are answers)
            print(f"room: a worker failed: {exc!r}", file=sys.stderr)
        finally:
            os._exit(0)


def kill_session(sid, whole=True):
    """SIGKILL the process group `sid`, and with `whole` every process of the session `sid`: a worker and all
    it started, in whatever group."""
    try:
        os.killpg(sid, signal.SIGKILL)
    except OSError:
        pass
    for name in os.listdir("/proc") if whole else ():
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as stat:
                    session = int(stat.read().rsplit(b")", 1)[1].split()[3])
                if session == sid:
                    os.kill(int(name), signal.SIGKILL)
            except (OSError, IndexError, ValueError):
                pass


def main(argv):
    socket_path, impl_dir, private_net = argv[0], os.path.abspath(argv[1]), "--private-net" in argv[2:]
    # The implementation's modules first, then the standard library, then site-packages (not this folder).
    sys.path[0] = impl_dir
    sys.path += [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg == "--site"]
    warm_imports = [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg == "--warm-import"]
    shared, name = os.path.split(socket_path)
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(in_folder(shared, name + ".new"))
    listener.listen(64)
    os.rename(os.path.join(shared, name + ".new"), socket_path)  # published only once it listens
    # Where the room's network is its own, the suite's servers are reached through relays in the shared dir.
    Supervisor(listener, shared if private_net else None, warm_imports).run()


if __name__ == "__main__":
    main(sys.argv[1:])
