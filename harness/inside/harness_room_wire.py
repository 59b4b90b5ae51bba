"""The wire between the suite's room and the implementation's: framed JSON, with tags for what JSON lacks.
Standalone: the scorer copies it into both rooms as `harness_room_wire.py` (see harness/inside/harness_room.py).

A message is a 4-byte big-endian length and that many bytes of JSON. Values are plain JSON, or one-key objects
whose key is a tag: $tuple, $set, $frozenset, $dict (a list of pairs), $bytes (base64); and, for what stays in a
room, $ref (a number the room gave the object), $path (a module and attribute names) and $exc_class. Nothing is
ever unpickled or evaluated.
"""

import base64
import builtins
import collections
import itertools
import json
import os
import socket
import struct
import threading
import time

ROOM_ENV = "HARNESS_ROOM"  # the room's socket, for the suite; the shared dir is the folder it is in
STARTUP_S = 30.0  # how long a first call waits for the room to open its socket
MAX_MESSAGE = 64 << 20
_HEADER = struct.Struct(">I")
_BORN = time.monotonic()
_folders = {}  # folder -> an O_PATH descriptor of it, see in_folder
_relay_ids = itertools.count(1)

Finished = collections.namedtuple("Finished", "code stdout stderr")  # exit status, and both streams as bytes


class RoomError(Exception):
    """The implementation's room did not answer a call: it hung, crashed, or said something unreadable."""


class Unsendable(TypeError):
    """A value that cannot cross to the room: neither plain data nor one of its own objects."""


_ENCODER = json.JSONEncoder(separators=(",", ":"))  # built once: json.dumps with options builds one per call
_DECODER = json.JSONDecoder()


def send(sock, message):
    data = _ENCODER.encode(message).encode()
    sock.sendall(_HEADER.pack(len(data)) + data)


def recv(sock):
    """The next message; EOFError once the other side has closed. One exchange is in flight at a time, so a
    message is all there is to read: a small one takes one read."""
    data = _more(sock, 16384)
    while len(data) < _HEADER.size:
        data += _more(sock, _HEADER.size - len(data))
    (size,) = _HEADER.unpack_from(data)
    if size > MAX_MESSAGE or len(data) > _HEADER.size + size:
        raise ValueError(f"a message of {size} bytes, or more than one")
    while len(data) < _HEADER.size + size:
        data += _more(sock, min(_HEADER.size + size - len(data), 1 << 20))
    return _DECODER.decode(data[_HEADER.size:].decode())


def _more(sock, most):
    chunk = sock.recv(most)
    if not chunk:
        raise EOFError("the other side closed the connection")
    return chunk


def encode(value, other):
    """`value` as JSON data: plain values as themselves, containers tagged, anything else as `other(value)`.

    Only exact builtin types are plain: a subclass may behave differently, so it stays where it was made."""
    kind = type(value)
    if value is None or kind in (str, int, float, bool):
        return value
    if kind is list:
        return [encode(v, other) for v in value]
    if kind in (tuple, set, frozenset):
        return {"$" + kind.__name__: [encode(v, other) for v in value]}
    if kind is dict:
        return {"$dict": [[encode(k, other), encode(v, other)] for k, v in value.items()]}
    if kind is bytes:
        return {"$bytes": base64.b64encode(value).decode()}
    return other(value)


_CONTAINERS = {"$tuple": tuple, "$set": set, "$frozenset": frozenset}


def decode(data, other):
    """The inverse of `encode`: a tag that is not a container goes to `other(tag, body)`."""
    if isinstance(data, list):
        return [decode(v, other) for v in data]
    if not isinstance(data, dict):
        return data
    if len(data) != 1:
        raise ValueError("an untagged object")
    ((tag, body),) = data.items()
    if tag in _CONTAINERS:
        return _CONTAINERS[tag](decode(v, other) for v in body)
    if tag == "$dict":
        return {decode(k, other): decode(v, other) for k, v in body}
    if tag == "$bytes":
        return base64.b64decode(body)
    return other(tag, body)


def bridge(a, b):
    """Carry bytes both ways between two connected sockets until both directions end, then close them."""
    def pump(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            for end in (a, b):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def run():
        pumps = [threading.Thread(target=pump, args=pair, daemon=True) for pair in ((a, b), (b, a))]
        for thread in pumps:
            thread.start()
        for thread in pumps:
            thread.join()
        a.close()
        b.close()

    threading.Thread(target=run, daemon=True).start()


# ---------------------------------------------------------------- exceptions from the room

_MIRRORS = {}  # (module, qualified name) -> the local class standing for an exception class of the room


def mirror(desc, depth=0):
    """The local class for an exception class the room describes; None for builtins that are not Exceptions
    (SystemExit, KeyboardInterrupt...), which must never be raised in the judge."""
    if depth > 16:
        raise ValueError("an exception class nested too deep")
    if "builtin" in desc:
        found = getattr(builtins, str(desc["builtin"]), None)
        return found if isinstance(found, type) and issubclass(found, Exception) else None
    key = (str(desc["module"])[:200], str(desc["name"])[:200])
    if key not in _MIRRORS:
        bases = [b for b in (mirror(d, depth + 1) for d in desc["bases"][:8]) if b is not None] or [Exception]
        namespace = {"__module__": key[0], "__qualname__": key[1], "__str__": _mirror_str}
        name = key[1].rsplit(".", 1)[-1] or "RoomException"
        for candidate in (tuple(dict.fromkeys(bases)), (bases[0],), (Exception,)):
            try:  # bases that cannot be combined (a layout conflict, no consistent order) fall back to fewer
                _MIRRORS[key] = type(name, candidate, namespace)
                break
            except TypeError:
                continue
    return _MIRRORS[key]


def _mirror_str(exc):
    message = exc.__dict__.get("_room_message")
    if message is not None:
        return message
    for klass in type(exc).__mro__:
        found = vars(klass).get("__str__")
        if found is not None and found is not _mirror_str:
            return found(exc)
    return ""


def exception(raised, other):
    """The exception to raise for what the room raised: its class mirrored, its message kept."""
    cls, message = mirror(raised["class"]), str(raised["message"])
    if cls is None:
        return RoomError(f"the implementation raised {raised['class'].get('builtin')}: {message}")
    args = decode(raised["args"], other) if isinstance(raised.get("args"), list) else [message]
    try:
        exc = cls(*args)
    except Exception:
        try:
            exc = cls(message)
        except Exception:
            return RoomError(f"the implementation raised {cls.__name__}: {message}")
    if cls.__str__ is _mirror_str:
        exc._room_message = message
    return exc


# ---------------------------------------------------------------- connections

def in_folder(folder, name):
    """A path to `name` in `folder` short enough for a Unix socket (108 bytes at most) however deep the folder:
    through a descriptor of the folder that this process keeps open."""
    if folder not in _folders:
        _folders[folder] = os.open(folder, os.O_PATH | os.O_DIRECTORY)
    return f"/proc/self/fd/{_folders[folder]}/{name}"


def connect_room():
    room = os.environ.get(ROOM_ENV)
    if not room:
        raise RoomError(f"${ROOM_ENV} is not set: this suite runs only under the harness's scorer")
    path = in_folder(os.path.dirname(room), os.path.basename(room))
    while True:
        sock = socket.socket(socket.AF_UNIX)
        try:
            sock.connect(path)
            return sock
        except FileNotFoundError:  # the room publishes its socket once it listens; it may still be starting
            sock.close()
            if time.monotonic() > _BORN + STARTUP_S:
                raise RoomError(f"the implementation's room did not open within {STARTUP_S:g} s") from None
            time.sleep(0.005)
        except OSError as exc:
            sock.close()
            raise RoomError(f"the implementation's room is gone ({exc.strerror})") from None


class Relay:
    """A port of this room's loopback, offered to the implementation's room, whose network is its own: the room
    listens on the same port there and carries each connection over a Unix socket in the shared dir."""

    def __init__(self, port):
        self.port = int(port)
        self.name = f"relay-{os.getpid()}-{next(_relay_ids)}.sock"  # in the shared dir, which both rooms see
        self.path = in_folder(os.path.dirname(os.environ.get(ROOM_ENV, "")), self.name)
        self._listener = socket.socket(socket.AF_UNIX)
        self._listener.bind(self.path)
        self._listener.listen(16)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.port))
            except OSError:
                client.close()
                continue
            bridge(client, upstream)

    def close(self):
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() above
        except OSError:
            pass
        self._listener.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass


def limit(sock, timeout):
    """Make reads and writes on `sock` fail after `timeout` seconds (see exchange)."""
    # The kernel's timeout on a blocking socket: settimeout() would cost a poll() before every read.
    timeout = max(timeout, 1e-3)  # a zero would mean no limit at all
    value = struct.pack("ll", int(timeout), int(timeout % 1 * 1e6))
    for option in (socket.SO_RCVTIMEO, socket.SO_SNDTIMEO):
        sock.setsockopt(socket.SOL_SOCKET, option, value)


def exchange(sock, message, timeout):
    """Send one request and read its reply, within `timeout` as set on `sock` by `limit`; a silent, closed or
    garbled room is a RoomError."""
    try:
        send(sock, message)
        return recv(sock)
    except (BlockingIOError, socket.timeout):
        raise RoomError(f"the implementation did not answer within {timeout:g} s") from None
    except (OSError, EOFError, ValueError) as exc:
        raise RoomError(f"the implementation's room ended during this call ({exc.__class__.__name__})") from None


def plain_reply(reply):
    if "raised" in reply:
        raise exception(reply["raised"], _no_handles)
    return decode(reply["ok"], _no_handles)


def _no_handles(tag, body):
    raise ValueError(f"an unexpected {tag}")


def b64(data):
    return base64.b64encode(data.encode("utf-8") if isinstance(data, str) else bytes(data)).decode()


def finished(result):
    return Finished(int(result["code"]), base64.b64decode(result["stdout"]), base64.b64decode(result["stderr"]))
