"""The per-test table (`tests.parquet`) gathered from records one at a time, held compactly until it becomes a
frame (harness/records/tables.py builds the tables).

`message` is why a test did not pass, as the judge kept it (harness/scoring/judge.py: capped, untrusted text);
empty for a test that passed, and for every test of a record written before messages were kept."""

from __future__ import annotations

import operator
from array import array
from typing import Any, Callable, Iterator, Optional, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

TEST_COLUMNS = ["trial_id", "test_id", "clause", "outcome", "seconds", "message"]
STR = pd.Series(["x"]).dtype  # the dtype pandas gives a column of strings (Arrow-backed `str` in pandas 3)


_BY_ID = operator.itemgetter("test_id")
_OTHER_FIELDS = [operator.itemgetter(name) for name in ("clause", "outcome", "seconds")]
_MESSAGE = operator.methodcaller("get", "message", "")  # only a test that did not pass has one


def _fields(test: dict) -> tuple:
    return test.get("test_id"), test.get("clause", ""), test.get("outcome"), test.get("seconds"), _MESSAGE(test)


def _test_order(test: dict) -> tuple[bool, str]:
    """A test's place within its trial, as a stable pandas sort on test_id puts it: missing ids last."""
    test_id = test.get("test_id")
    return (test_id is None, "" if test_id is None else test_id)


class TestColumns:
    """The per-test table, filled one record at a time and held compactly until it becomes a frame.

    Each record's tests are sorted by test id as they come (by a layout shared by the records of one suite, see
    `_layout`). The string columns are kept as codes into a table of their distinct values (a few hundred test
    ids, ten thousand trial ids), not as 1.5 million string objects, and become Arrow string columns without
    passing through Python objects again."""

    __test__ = False  # not a pytest test class, whatever its name
    ENCODED = ("trial_id", "test_id", "clause", "outcome", "message")

    def __init__(self) -> None:
        self.values: dict[str, dict[Any, int]] = {c: {} for c in self.ENCODED}  # value -> code, in code order
        self.codes: dict[str, array] = {c: array("q") for c in self.ENCODED}
        self.seconds: array | list = array("d")  # a list once a record has a time that is no float (None, 3)
        self.trials: list[tuple[Any, int, int]] = []  # (trial_id, first row, row after the last), in read order
        self._layouts: dict[tuple, tuple[Callable, array]] = {}
        self._runs: dict[tuple[str, tuple], array] = {}

    def add(self, trial_id: Any, tests: list[dict]) -> None:
        try:  # the usual record: every test has an id and a clause, and its suite's layout has been seen before
            order, id_codes = self._layout(tuple(map(_BY_ID, tests)))
            tests = order(tests)
            clauses, outcomes, seconds = (tuple(map(get, tests)) for get in _OTHER_FIELDS)
            messages = tuple(map(_MESSAGE, tests))
        except (KeyError, TypeError):  # a record from before `clause`, or a test without an id
            tests = sorted(tests, key=_test_order)
            test_ids, clauses, outcomes, seconds, messages = zip(*[_fields(t) for t in tests])
            id_codes = array("q", self._encode("test_id", test_ids))
        start = len(self.seconds)
        self.trials.append((trial_id, start, start + len(tests)))
        trial_code = self.values["trial_id"].setdefault(trial_id, len(self.values["trial_id"]))
        self.codes["trial_id"].extend(array("q", [trial_code]) * len(tests))
        self.codes["test_id"].extend(id_codes)
        self.codes["clause"].extend(self._run_codes("clause", clauses))
        self.codes["outcome"].extend(self._run_codes("outcome", outcomes))
        self.codes["message"].extend(self._run_codes("message", messages))
        if isinstance(self.seconds, array) and set(map(type, seconds)) != {float}:
            self.seconds = self.seconds.tolist()  # pandas must see the values themselves to infer as it did
        self.seconds.extend(seconds)

    def _encode(self, name: str, values: Sequence) -> Iterator[int]:
        """The codes of `values` in column `name`, giving a new code to each value not seen before."""
        table = self.values[name]
        for new in set(values).difference(table):
            table[new] = len(table)
        return map(table.__getitem__, values)

    def _run_codes(self, name: str, values: tuple) -> array:
        """The codes of one record's clauses or outcomes. Records of one suite have the same clauses, and most
        have the same outcomes as many others (all passing, say), so the codes of a run of values are kept (a
        few hundred runs) and copied, rather than looked up value by value."""
        codes = self._runs.get((name, values))
        if codes is None:
            if len(self._runs) >= 256:
                self._runs.clear()
            codes = self._runs[name, values] = array("q", self._encode(name, values))
        return codes

    def _layout(self, test_ids: tuple) -> tuple[Callable, array]:
        """How the tests of a record, with these ids in this order, enter the table: a getter that sorts them by
        id, and the codes of their ids in that order. Records of one suite share it, so it is worked out once per
        suite (a few are kept) rather than a sort and a lookup per test of every record."""
        layout = self._layouts.get(test_ids)
        if layout is None:
            ranks = sorted(range(len(test_ids)), key=test_ids.__getitem__)
            order = operator.itemgetter(*ranks) if len(ranks) > 1 else tuple
            if len(self._layouts) >= 64:  # tests that differ from record to record: no layout is shared
                self._layouts.clear()
            codes = array("q", self._encode("test_id", [test_ids[i] for i in ranks]))
            layout = self._layouts[test_ids] = (order, codes)
        return layout

    def frame(self) -> pd.DataFrame:
        """The table, in order: by trial id, then test id, stably. Consumes what it held, each column freed as
        soon as it is built."""
        if not self.trials:
            return pd.DataFrame([], columns=TEST_COLUMNS)
        order = self._order()
        columns = {name: self._column(name) for name in self.ENCODED}
        seconds = self.seconds
        columns["seconds"] = pd.Series(np.frombuffer(seconds, dtype=np.float64) if isinstance(seconds, array)
                                       else seconds)
        self.seconds = []
        frame = pd.DataFrame(columns, columns=TEST_COLUMNS, copy=False)
        return frame if order is None else frame.take(order).reset_index(drop=True)

    def _column(self, name: str) -> pd.Series:
        """One string column, the same as pandas infers from the values: Arrow strings taken from the distinct
        values by code when every value is a string or missing (and not all missing), else pandas' own inference."""
        distinct, codes = list(self.values.pop(name)), self.codes.pop(name)
        strings = all(v is None or isinstance(v, str) for v in distinct) and any(v is not None for v in distinct)
        if not strings or getattr(STR, "storage", None) != "pyarrow":
            return pd.Series([distinct[c] for c in codes])
        taken = pa.array(distinct, type=pa.large_string()).take(np.frombuffer(codes, dtype=np.int64))
        return pd.Series(STR.construct_array_type()(taken, dtype=STR))

    def _order(self) -> Optional[list[int]]:
        """Row positions in table order, or None when the rows are in it already (trial ids strictly increasing
        in read order, the usual case: a record's file is named by its trial id). Otherwise (a record filed under
        another name, two records of one trial) the rows of each trial id are gathered in read order and sorted
        by test id, as a stable sort of the whole table would."""
        ids = [tid for tid, _, _ in self.trials]
        try:
            if all(a < b for a, b in zip(ids, ids[1:])):
                return None
        except TypeError:  # a trial id that is no string: sorted below as pandas would, missing last
            pass
        rows: dict[Any, list[int]] = {}
        for tid, start, stop in self.trials:
            rows.setdefault(tid, []).extend(range(start, stop))
        distinct, codes = list(self.values["test_id"]), self.codes["test_id"]
        order: list[int] = []
        for tid in sorted(rows, key=lambda t: (t is None, "" if t is None else t)):
            order.extend(sorted(rows[tid], key=lambda i: _test_order({"test_id": distinct[codes[i]]})))
        return order
