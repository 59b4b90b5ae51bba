"""Runs inside the sandbox before an agent: listens on the private loopback and relays each connection to the
gateway's Unix socket, bound into the sandbox. Standalone, since the harness package is not mounted there: the
sandbox passes this file's text with `python -c`; nothing imports it.

    python -c <this file> <socket path> <port> <agent argv...>
"""
import socket
import subprocess
import sys
import threading


def pump(src, dst):
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    for end in (src, dst):
        try:
            end.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def serve(listener, path):
    while True:
        client, _ = listener.accept()
        upstream = socket.socket(socket.AF_UNIX)
        try:
            upstream.connect(path)
        except OSError:
            client.close()
            continue
        for pair in ((client, upstream), (upstream, client)):
            threading.Thread(target=pump, args=pair, daemon=True).start()


if __name__ == "__main__":
    path, port, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    listener = socket.create_server(("127.0.0.1", port))
    threading.Thread(target=serve, args=(listener, path), daemon=True).start()
    sys.exit(subprocess.call(argv))
