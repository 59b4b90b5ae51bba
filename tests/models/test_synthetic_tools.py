"""The synthetic model reads an agent's tool set as a model would and writes its answer with what it finds."""

from __future__ import annotations

import json
import subprocess

from harness.models.synthetic import tools as st

SOURCE = "def add(a, b):\n    return a + b  # 'quoted' \"and\" $HOME `ticks`\n"


def tool(name: str, **properties) -> dict:
    return {"type": "function", "function": {"name": name, "parameters": {"type": "object",
                                                                          "properties": properties}}}


CLAUDE = [tool("Bash", command={"type": "string"}),
          tool("Read", file_path={"type": "string", "description": "The absolute path to the file to read"}),
          tool("Write", file_path={"type": "string", "description": "The absolute path to the file"},
               content={"type": "string"})]
CODEX = [tool("exec_command", cmd={"type": "string"}), tool("view_image", path={"type": "string"})]
OURS = [tool("read_file", path={"type": "string"}), tool("write_file", path={"type": "string"},
                                                         content={"type": "string"}),
        tool("run_shell", command={"type": "string"})]


def test_it_picks_the_whole_file_writer_and_the_reader_of_each_agent():
    picked = {name: (st.writer(st.tools_of(tools)).name, st.reader(st.tools_of(tools)).name)
              for name, tools in (("claude", CLAUDE), ("codex", CODEX), ("ours", OURS))}
    assert picked == {"claude": ("Write", "Read"), "codex": ("exec_command", "exec_command"),
                      "ours": ("write_file", "read_file")}
    assert st.writer(st.tools_of([tool("apply_patch", input={"type": "string"})])).name == "apply_patch"
    assert st.writer(st.tools_of([tool("view_image", path={"type": "string"})])) is None


def test_paths_are_made_absolute_only_for_a_tool_that_asks_from_the_stated_working_dir():
    prompt = "<env>\nPrimary working directory: /tmp/t/work\nIs a git repository: false\n</env>"
    cwd = st.working_dir(prompt)
    assert cwd == "/tmp/t/work" and st.working_dir("<cwd>/a/b</cwd>") == "/a/b" and st.working_dir("none") is None
    claude = st.writer(st.tools_of(CLAUDE))
    ours = st.writer(st.tools_of(OURS))
    assert st.write_calls(claude, {"adder.py": SOURCE}, cwd) == [
        ("Write", {"file_path": "/tmp/t/work/adder.py", "content": SOURCE})]
    assert st.write_calls(ours, {"adder.py": SOURCE}, cwd) == [("write_file",
                                                                {"path": "adder.py", "content": SOURCE})]
    assert st.read_call(st.reader(st.tools_of(CLAUDE)), "spec.md", cwd) == ("Read",
                                                                           {"file_path": "/tmp/t/work/spec.md"})
    assert st.read_call(st.reader(st.tools_of(OURS)), "spec.md", cwd) == ("read_file", {"path": "spec.md"})


def test_a_shell_writes_the_exact_file_and_a_patch_adds_it(tmp_path):
    shell = st.writer(st.tools_of(CODEX))
    [(name, arguments)] = st.write_calls(shell, {"adder.py": SOURCE}, None)
    subprocess.run(["bash", "-c", arguments["cmd"]], cwd=tmp_path, check=True)  # as the agent would run it
    assert (tmp_path / "adder.py").read_text() == SOURCE
    argv = st.Tool("shell", {"command": {"type": "array"}}, "")
    [(_, arguments)] = st.write_calls(argv, {"b.py": SOURCE}, None)
    subprocess.run(arguments["command"], cwd=tmp_path, check=True)
    assert (tmp_path / "b.py").read_text() == SOURCE
    [(_, patch)] = st.write_calls(st.Tool("apply_patch", {"input": {}}, ""), {"adder.py": SOURCE}, None)
    assert patch["input"].splitlines() == ["*** Begin Patch", "*** Add File: adder.py", "+def add(a, b):",
                                           "+    return a + b  # 'quoted' \"and\" $HOME `ticks`", "*** End Patch"]


def test_the_turn_ends_once_the_files_are_written_not_after_a_read_through_the_same_shell():
    shell = st.writer(st.tools_of(CODEX))
    read = {"role": "assistant", "tool_calls": [{"function": {"name": "exec_command",
                                                              "arguments": json.dumps({"cmd": "cat spec.md"})}}]}
    assert not st.wrote([read], shell)
    [(name, arguments)] = st.write_calls(shell, {"adder.py": SOURCE}, None)
    write = {"role": "assistant", "tool_calls": [{"function": {"name": name, "arguments": json.dumps(arguments)}}]}
    assert st.wrote([read, write], shell)
