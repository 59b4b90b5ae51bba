"""The suite's side of the implementation's room. Standalone: the scorer copies it next to the suite as
`harness_room.py`, and next to the room's server (harness/inside/harness_room_server.py), which shares its wire format.

The code under test never runs in the pytest process that judges it: it lives in a room of its own, another
sandboxed process reached over the Unix socket named by $HARNESS_ROOM. A suite reaches it through this module:

    semver = harness_room.import_module("semver")   # a proxy: attributes, calls and operators run in the room
    done = harness_room.run_script(path, args, stdin=b"", cwd=d)   # a CLI as __main__, in the room
    done = harness_room.run([sys.executable, path, *args], cwd=d)  # a real process in the room
    proc = harness_room.spawn(argv, cwd=d, env=env, forward=[port])  # one the suite watches, and kills

Values cross as JSON: plain values as themselves, tuples, dicts, sets and bytes tagged, anything else as a handle
to the object, which stays in the room. Exceptions cross as their class's name and ancestry (builtin classes
among it are the real builtins, and only subclasses of Exception are ever raised here) and message, so
`pytest.raises(semver.InvalidVersion)` and `isinstance(e, ValueError)` work. Nothing from the room is unpickled
or evaluated. A call the room does not answer within its timeout, or that ends its worker, raises RoomError in
that call only: the worker is killed and the next call gets a fresh one (handles from before then raise too).
"""

import operator
import os
import threading

from harness_room_wire import (Relay, RoomError, Unsendable, b64, connect_room, decode, encode, exception,
                               exchange, finished, limit, mirror, plain_reply)

CALL_TIMEOUT_S = 10.0


# ---------------------------------------------------------------- objects in the room

class Room:
    """One connection to the implementation's room, served there by a worker of its own."""

    def __init__(self, timeout=CALL_TIMEOUT_S):
        self.timeout = timeout
        self.generation = 0  # bumped at each fresh worker: handles from an older one are dead
        self._sock = None
        self._lock = threading.RLock()  # decoding a reply may hash a handle, which is a call of its own
        self._handles = {}  # (generation, number) -> Remote, so the same object is the same proxy

    def import_module(self, name):
        """The module `name` of the implementation, imported in the room at its first use."""
        return Remote(self, ("$path", [str(name)]))

    def request(self, message):
        with self._lock:
            if self._sock is None:
                self._sock = connect_room()
                limit(self._sock, self.timeout)
                self.generation += 1
            try:
                reply = exchange(self._sock, message, self.timeout)
                if "raised" in reply:
                    error = exception(reply["raised"], self._incoming)
                else:
                    return decode(reply["ok"], self._incoming)
            except (RoomError, ValueError, KeyError, TypeError) as exc:
                self._restart()
                if isinstance(exc, RoomError):
                    raise RoomError(f"{exc}; its room was restarted") from None
                raise RoomError(f"the implementation's room sent an unreadable reply ({exc!r})") from None
            raise error

    def apply(self, name, *args):
        return self.request({"op": "apply", "fn": name, "args": encode(list(args), self._handle)})

    def outgoing(self, value):
        return encode(value, self._handle)

    def _handle(self, obj):
        if isinstance(obj, Remote) and obj._room is self:
            return obj._wire()
        raise Unsendable(f"a {type(obj).__name__} cannot be sent to the implementation's room")

    def _incoming(self, tag, body):
        if tag == "$ref" and type(body) is int:
            key = (self.generation, body)
            if key not in self._handles:
                self._handles[key] = Remote(self, ("$ref", body))
            return self._handles[key]
        if tag == "$path" and type(body) is list and all(type(p) is str for p in body):
            return Remote(self, ("$path", body))
        if tag == "$exc_class" and type(body) is dict:
            return mirror(body)
        raise ValueError(f"an unknown tag {tag!r}")

    def _restart(self):
        """Close the connection: the room kills its worker, and the next call gets a fresh one."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
            self._handles.clear()


# Names Python and pytest look up on any object (`__wrapped__`, `__dataclass_fields__`...) are answered here,
# without a call; these few are the implementation's to answer.
_REMOTE_DUNDERS = frozenset({"__name__", "__qualname__", "__version__", "__all__"})


class Remote:
    """An object in the implementation's room: attributes, calls and operators are answered there."""

    __slots__ = ("_room", "_ref", "_generation")

    def __init__(self, room, ref):
        for name, value in (("_room", room), ("_ref", ref), ("_generation", room.generation)):
            object.__setattr__(self, name, value)

    def _wire(self):
        kind, value = self._ref
        if kind == "$ref" and self._generation != self._room.generation:
            raise RoomError("this object lived in a room that has been restarted since")
        return {kind: value}

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__") and name not in _REMOTE_DUNDERS:
            raise AttributeError(name)
        return self._room.request({"op": "getattr", "obj": self._wire(), "name": name})

    def __setattr__(self, name, value):
        self._room.request({"op": "setattr", "obj": self._wire(), "name": name, "value": self._room.outgoing(value)})

    def __delattr__(self, name):
        self._room.request({"op": "delattr", "obj": self._wire(), "name": name})

    def __call__(self, *args, **kwargs):
        out = self._room.outgoing
        return self._room.request({"op": "call", "obj": self._wire(), "args": out(list(args)),
                                   "kwargs": {str(k): out(v) for k, v in kwargs.items()}})

    def __reduce_ex__(self, protocol):
        raise TypeError("an object of the implementation's room cannot be copied or pickled here")


_RAISE = object()


def _operator(name, reflected=False, refused=_RAISE):
    def method(self, *args):
        operands = (*args, self) if reflected else (self, *args)
        try:
            return self._room.apply(name, *operands)
        except Unsendable:
            if refused is _RAISE:
                raise
            return refused
    method.__name__ = name
    return method


def _judged(name):
    # A comparison with a value of the suite's own is decided here, never by the implementation's code (which
    # could learn the expected value, or agree with anything): on a plain copy of an object whose type derives
    # from a builtin one, else as between unrelated types (== is identity). Two handles are compared there.
    def method(self, other):
        if isinstance(other, Remote) and other._room is self._room:
            return self._room.apply(name, self, other)
        copyable, copy = self._room.request({"op": "plain", "obj": self._wire()})
        if not copyable and name == "contains":  # `in` would read NotImplemented as true
            raise TypeError("`in` on an object of the implementation's room that is not plain data")
        return getattr(operator, name)(copy, other) if copyable else NotImplemented
    return method


_UNARY = ["hash", "str", "repr", "bool", "len", "iter", "next", "neg", "pos", "abs", "invert", "int", "float",
          "index"]
_BINARY = ["format", "getitem", "setitem", "delitem"]
_ARITHMETIC = ["add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "and", "or", "xor", "lshift", "rshift",
               "matmul"]
for _name in _UNARY + _BINARY:
    setattr(Remote, f"__{_name}__", _operator(_name))
for _name in ["eq", "ne", "lt", "le", "gt", "ge", "contains"]:
    setattr(Remote, f"__{_name}__", _judged(_name))
# With a local object (a Remote cannot send it), Python tries the other side, as it does for any two types.
for _name in _ARITHMETIC:
    setattr(Remote, f"__{_name}__", _operator(_name, refused=NotImplemented))
    setattr(Remote, f"__r{_name}__", _operator(_name, reflected=True, refused=NotImplemented))
# isinstance(x, remote_class) and issubclass(x, remote_class): the room decides, the operands reversed.
Remote.__instancecheck__ = _operator("isinstance", reflected=True, refused=False)
Remote.__subclasscheck__ = _operator("issubclass", reflected=True, refused=False)

_rooms = {}  # timeout -> Room: one connection per timeout in this process


def connect(timeout=CALL_TIMEOUT_S):
    """The shared connection whose calls wait at most `timeout` seconds for an answer."""
    return _rooms.setdefault(timeout, Room(timeout))


def import_module(name, timeout=CALL_TIMEOUT_S):
    """A proxy for the implementation's module `name` (imported in the room on first use)."""
    return connect(timeout).import_module(name)


# ---------------------------------------------------------------- programs in the room

def run_script(path, args=(), stdin=b"", cwd=None, timeout=CALL_TIMEOUT_S):
    """Run the Python file `path` as __main__ in the room, with argv, stdin, stdout, stderr and cwd swapped in
    (and restored after): a fresh interpreter's behaviour, but for modules it imported before, at a fraction of
    its start-up. Returns a Finished; a script that hangs or ends the room's worker is a RoomError."""
    return finished(connect(timeout).request({
        "op": "run_script", "path": str(path), "args": [str(a) for a in args], "stdin": b64(stdin),
        "cwd": str(cwd or os.getcwd())}))


def run(argv, stdin=b"", cwd=None, env=None, timeout=CALL_TIMEOUT_S):
    """Run `argv` as a process in the room and wait for it; RoomError if it runs past `timeout`."""
    with spawn(argv, cwd=cwd, env=env, stdin=stdin) as proc:
        done = proc.wait(timeout)
        if done is None:
            proc.kill()
            raise RoomError(f"{argv[0]} did not finish within {timeout:g} s")
        return done


def spawn(argv, cwd=None, env=None, stdin=None, hold_stdin=False, forward=()):
    """Start `argv` in the room, in a process group of its own. `stdin` (bytes or str) is fed, then closed
    unless `hold_stdin` keeps it open until the process ends; None gives it /dev/null. `forward` lists ports of
    this room's loopback the process must reach at the same port of its own. Use as a context manager."""
    return Process(argv, cwd, env, stdin, hold_stdin, forward)


class Process:
    """A process in the implementation's room, watched from here; closing this kills its group."""

    def __init__(self, argv, cwd, env, stdin, hold_stdin, forward):
        self.result = None
        self._relays = [Relay(port) for port in forward]
        self._sock = None
        try:
            self._sock = connect_room()
            self._call({"op": "spawn", "argv": [str(a) for a in argv], "cwd": str(cwd or os.getcwd()),
                        "env": None if env is None else {str(k): str(v) for k, v in env.items()},
                        "stdin": None if stdin is None else b64(stdin), "hold_stdin": bool(hold_stdin),
                        "forward": [[r.port, r.name] for r in self._relays]}, CALL_TIMEOUT_S)
        except BaseException:
            self.close()
            raise

    def wait(self, timeout):
        """The Finished process once it has exited and closed its output, waiting at most `timeout`; else None."""
        if self.result is None:
            done = self._call({"op": "wait", "timeout": timeout}, timeout + CALL_TIMEOUT_S)
            self.result = None if done is None else finished(done)
        return self.result

    def kill(self):
        """Kill the process's group, and return it Finished."""
        if self.result is None:
            self.result = finished(self._call({"op": "kill"}, CALL_TIMEOUT_S))
        return self.result

    def close(self):
        if self._sock is not None:
            self._sock.close()
        for relay in self._relays:
            relay.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _call(self, message, timeout):
        limit(self._sock, timeout)
        return plain_reply(exchange(self._sock, message, timeout))
