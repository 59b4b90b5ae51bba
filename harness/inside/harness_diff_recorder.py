"""Plays a battery against one implementation and reports what it saw. Standalone: harness/equivalence/diff.py copies it
into the suite's room as `harness_diff_recorder.py`, beside `harness_room`, exactly where a hidden suite runs.

The implementation lives in its own room; this program reaches it only through harness_room, so everything it
reports is what the implementation did, seen from outside. One JSON line per scenario goes to the report pipe
($HARNESS_REPORT_FD): {"scenario": name, "observation": {...}}. Observations hold only what the implementation
decides: the paths, keys and call ids this program picks for a run are replaced by placeholders here.

    python harness_diff_recorder.py BATTERY.json SCRATCH_DIR
"""

import base64
import builtins
import json
import operator
import os
import re
import stat
import sys
import traceback
from pathlib import Path

import harness_room

TIMEOUT_S = 20
FILE_BYTES = 65536  # of each file an implementation left, the prefix reported verbatim
BUILTINS = {"str": str, "repr": repr, "hash": hash, "bool": bool, "len": len, "int": int}


def main(argv):
    battery = json.loads(open(argv[1], encoding="utf-8").read())
    scratch = argv[2]
    report = os.fdopen(int(os.environ["HARNESS_REPORT_FD"]), "w", encoding="utf-8")
    play = {"library": play_library, "cli": play_cli, "agent": play_agent}[battery["kind"]]
    for name, observation in play(battery, scratch):
        report.write(json.dumps({"scenario": name, "observation": observation}) + "\n")
        report.flush()
    report.close()


# ---------------------------------------------------------------- libraries

def play_library(battery, scratch):
    module = harness_room.import_module(battery["target"], timeout=TIMEOUT_S)
    for scenario in battery["scenarios"]:
        try:
            value = evaluate(scenario["expr"], module)
            seen = observe(value, battery.get("observe", []))
        except harness_room.RoomError:
            seen = {"room_error": "the call hung or ended the implementation's room"}
        except Exception as exc:
            seen = raised(exc)
        yield scenario["name"], seen


def evaluate(expr, module):
    if "lit" in expr:
        return expr["lit"]
    if "name" in expr:
        return BUILTINS[expr["name"]] if expr["name"] in BUILTINS else getattr(module, expr["name"])
    if "op" in expr:
        left, right = (evaluate(a, module) for a in expr["args"])
        return getattr(operator, expr["op"])(left, right)
    target = evaluate({"name": expr["call"]}, module) if "call" in expr else getattr(
        evaluate(expr["on"], module), expr["method"])
    return target if expr["args"] is None else target(*(evaluate(a, module) for a in expr["args"]))


def observe(value, attrs, depth=0):
    """A value as plain JSON with its type; an object of the room by its str() and the declared attributes."""
    kind = type(value)
    if value is None or kind in (bool, int, str):
        return {"type": kind.__name__, "value": value}
    if kind is float:
        return {"type": "float", "value": repr(value)}
    if kind in (list, tuple, set, frozenset) and depth < 8:
        items = [observe(v, attrs, depth + 1) for v in value]
        if kind in (set, frozenset):
            items.sort(key=json.dumps)
        return {"type": kind.__name__, "value": items}
    if kind is dict and depth < 8:
        pairs = [[observe(k, attrs, depth + 1), observe(v, attrs, depth + 1)] for k, v in value.items()]
        return {"type": "dict", "value": sorted(pairs, key=json.dumps)}
    if kind is bytes:
        return {"type": "bytes", "value": value.hex()}
    seen = {"type": "object", "str": _guarded(lambda: str(value))}
    for name in attrs if depth < 2 else ():
        seen[name] = _guarded(lambda: observe(getattr(value, name), attrs, depth + 1))
    return seen


def _guarded(read):
    try:
        return read()
    except harness_room.RoomError:
        return {"room_error": "the call hung or ended the implementation's room"}
    except Exception as exc:
        return raised(exc)


def raised(exc):
    """An exception by its class's name, the builtin exception classes it derives from, and its message."""
    kinds = [c.__name__ for c in type(exc).__mro__
             if getattr(builtins, c.__name__, None) is c and issubclass(c, Exception) and c is not Exception]
    return {"raised": type(exc).__name__, "is_a": kinds, "message": str(exc)[:500]}


# ---------------------------------------------------------------- command-line programs

def play_cli(battery, scratch):
    entry = os.path.join(os.environ["HARNESS_IMPL_DIR"], battery["target"])
    for number, scenario in enumerate(battery["scenarios"]):
        folder = os.path.join(scratch, f"run-{number}")
        os.makedirs(folder)
        for name, data in scenario.get("files", {}).items():
            with open(os.path.join(folder, name), "wb") as handle:
                handle.write(base64.b64decode(data))
        try:
            done = harness_room.run_script(entry, scenario["args"], stdin=base64.b64decode(scenario["stdin"]),
                                           cwd=folder, timeout=TIMEOUT_S)
            seen = {"exit": done.code, "stdout": _text(done.stdout), "stderr": _text(done.stderr),
                    "files": files_in(folder)}
        except harness_room.RoomError:
            seen = {"room_error": "the run hung or ended the implementation's room"}
        yield scenario["name"], seen


def _text(data):
    return data.decode("utf-8", errors="replace")


def files_in(folder):
    """relative path -> text (a prefix) of the regular files under `folder`, links not followed."""
    found = {}
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names) + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            path = os.path.join(root, name)
            relative = os.path.relpath(path, folder)
            info = os.lstat(path)
            if not stat.S_ISREG(info.st_mode):
                found[relative] = {"not_a_file": stat.S_IFMT(info.st_mode)}
                continue
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            with os.fdopen(fd, "rb") as handle:
                found[relative] = {"size": info.st_size, "text": _text(handle.read(FILE_BYTES))}
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(root, d))]
    return found


# ---------------------------------------------------------------- agents

def play_agent(battery, scratch):
    suite = os.path.join(os.path.dirname(os.path.abspath(__file__)), "suite")
    sys.path.insert(0, suite)
    import agentrun  # the suite's own helpers: the scripted server and how the agent is started
    from scripted_server import call

    scenarios = _suite_scenarios(suite)
    jobs, waiting = {}, set()
    for number, scenario in enumerate(battery["scenarios"]):
        workspace = os.path.join(scratch, f"s{number}")
        if "suite" in scenario:
            build = scenarios[scenario["suite"]]
            jobs[scenario["name"]] = (lambda b, w: lambda: b(Path(w)))(build, workspace)
            if getattr(build, "waits", False):  # through a back-off or a timeout: started at once, as the suite does
                waiting.add(scenario["name"])
        else:
            calls = [call(c["name"], c["arguments"], id=f"g{k}") for k, c in enumerate(scenario["calls"])]
            jobs[scenario["name"]] = (lambda c, w, s: lambda: _generated(agentrun, c, w, s))(
                calls, workspace, scenario.get("setup", {}))
    done = agentrun.run_many(jobs, waiting=waiting)
    for scenario in battery["scenarios"]:
        outcome = dict.__getitem__(done, scenario["name"])  # the suite's Runs re-raises a failed scenario
        if isinstance(outcome, BaseException):
            yield scenario["name"], {"scenario_error": "".join(traceback.format_exception_only(outcome))[-500:]}
        else:
            yield scenario["name"], agent_observation(outcome)


def _suite_scenarios(suite):
    import importlib
    found = {}
    for name in sorted(os.listdir(suite)):
        if name.startswith("test_") and name.endswith(".py"):
            found.update(getattr(importlib.import_module(name[:-3]), "SCENARIOS", {}))
    return found


def _generated(agentrun, calls, workspace, setup):
    for relative, content in setup.items():
        path = os.path.join(workspace, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(content)
    return agentrun.run_cases(workspace, calls)


def agent_observation(outcome):
    """Everything observable of a Run or a CaseRun, with this program's own choices made placeholders."""
    runs = outcome.runs if hasattr(outcome, "runs") else [outcome]
    workspace = str(getattr(outcome, "workspace", runs[0].workspace if runs else ""))
    seen = {"runs": [_run(r) for r in runs], "files": files_in(workspace) if os.path.isdir(workspace) else None}
    if hasattr(outcome, "failures"):
        seen["calls_without_result"] = sorted(outcome.failures)
    swaps = [(str(r.key), "<api-key>") for r in runs] + [(str(r.process_cwd), "<process-cwd>") for r in runs]
    return _placeholders(seen, swaps + [(workspace, "<workspace>")])


def _run(run):
    requests, previous = [], []
    for request in run.requests:
        body = dict(request.body or {})
        messages = body.pop("messages", [])
        fresh = messages[len(previous):] if messages[:len(previous)] == previous else {"all": messages}
        requests.append({"new_messages": fresh, **body})
        previous = messages
    return {"exit": run.returncode, "stopped": run.stopped, "stdout": run.stdout, "stderr": run.stderr,
            "requests": requests, "process_cwd_files": files_in(str(run.process_cwd))}


def _placeholders(seen, swaps):
    text = json.dumps(seen)
    for value, mark in sorted(swaps, key=lambda s: -len(s[0])):
        if value:
            text = text.replace(json.dumps(value)[1:-1], mark)
    numbers = {}
    text = re.sub(r"call_\d+", lambda m: numbers.setdefault(m.group(0), f"call_#{len(numbers) + 1}"), text)
    return json.loads(text)


if __name__ == "__main__":
    main(sys.argv)
