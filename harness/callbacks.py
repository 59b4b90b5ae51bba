"""Hydra callbacks. They run in the launching process after all jobs, so they read the records from disk."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from harness.budget import STOP_FILE
from harness.records import build_tables
from harness.summary import summarize

log = logging.getLogger("harness")


class TablesCallback(Callback):
    """Rebuild the experiment's tables from its records and print a short summary."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        self._tables(config)

    def on_run_end(self, config: DictConfig, **kwargs: Any) -> None:
        self._tables(config)

    @staticmethod
    def _tables(config: DictConfig) -> None:
        run_dir = Path(config.runs_dir) / config.experiment.name
        if not (run_dir / "trials").is_dir():
            return
        results, _ = build_tables(run_dir)
        print(summarize(results))
        stop = run_dir / STOP_FILE
        if stop.is_file():  # written by the budget when it refused a trial during this sweep
            print(f"STOPPED BY BUDGET: {stop.read_text().strip()}")
            stop.unlink()
        print(f"tables: {run_dir / 'results.parquet'} ({len(results)} trials)")
