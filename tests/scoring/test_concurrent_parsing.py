"""Trials run in threads, and CPython 3.11's AST converters keep their recursion depth per interpreter: the
harness's parses (the synthetic model's mutants, the suite's assert rewrite, an agent suite's scenarios) take
one lock (harness/scoring/pyast.py). A sweep once lost a trial to "AST constructor recursion depth mismatch"."""

from __future__ import annotations

import sys
import threading

from harness.equivalence.battery import suite_scenarios
from harness.models.synthetic.mutate import mutants
from harness.scoring import bytecode
from tests.conftest import ROOT

AGENT = ROOT / "specs" / "minimal-coding-agent"


class _Finalized:
    """Garbage whose finalizer runs Python code: a collection inside one thread's conversion then lets the
    interpreter switch to another thread."""

    def __del__(self):
        sum(range(50))


def _garbage(cycles: int = 3000) -> None:
    for _ in range(cycles):
        a, b = _Finalized(), _Finalized()
        a.other, b.other = b, a  # a cycle: only the collector frees it, in whichever thread it runs


def test_the_harness_parses_in_many_threads_at_once_without_a_system_error():
    source = (ROOT / "specs" / "wc" / "reference" / "wc.py").read_text()
    suite = (AGENT / "suite" / "test_retries.py").read_bytes()
    jobs = [
        lambda n: sum(1 for _ in mutants("wc.py", source)),
        lambda n: bytecode._checked(suite + f"\n# {n}\n".encode(), rewrite=True),  # a new text: not from the cache
        lambda n: suite_scenarios(AGENT / "suite"),
    ]
    errors: list[BaseException] = []

    def work(job):
        for n in range(8):
            _garbage()
            try:
                job(n)
            except BaseException as exc:  # noqa: BLE001 (the test reports whatever a parse raised)
                errors.append(exc)
                return

    threads = [threading.Thread(target=work, args=(job,)) for job in jobs]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter can
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
