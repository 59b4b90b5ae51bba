"""Controls that need no model: one pinned file, or the regular files of a folder (the spec's reference, or an
implementation made elsewhere), scored as they are."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Optional
from urllib.parse import urlparse

from harness.sandbox.untrusted import TreeCaps, read_tree
from harness.seams import Generation, GenerationContext, TokenBound
from harness.specs.loading import Spec
from harness.specs.pins import Pin, fetch


class PinnedFileGenerator:
    """A control: one pinned file (e.g. the paper's published agent_0), fetched once and verified."""

    def __init__(self, pin: Pin, cache_dir: Path):
        self.pin, self.cache_dir = pin, cache_dir

    def generate(self, spec: Spec, ctx: GenerationContext) -> Generation:
        text = fetch(self.pin, self.cache_dir).read_text(encoding="utf-8")
        name = PurePosixPath(urlparse(self.pin.url).path).name
        if len(spec.entry_files) == 1 and name.endswith(".py"):
            name = spec.entry_files[0]
        return Generation({name: text}, f"imported {self.pin.url}")

    def token_bound(self, spec: Spec, max_tokens: int) -> TokenBound:
        return TokenBound(0, 0)  # calls no model


class FolderGenerator:
    """A control: the regular text files of an existing folder, scored as they are. A folder to import may come
    from anywhere (another harness, a generated agent's output), so it is read as untrusted: no link is followed."""

    def __init__(self, folder: Optional[Path], caps: TreeCaps):
        self.folder, self.caps = folder, caps

    def token_bound(self, spec: Spec, max_tokens: int) -> TokenBound:
        return TokenBound(0, 0)  # calls no model

    def generate(self, spec: Spec, ctx: GenerationContext) -> Generation:
        folder = self.folder or spec.reference_dir
        tree = read_tree(folder, self.caps, first=spec.entry_files)  # no cap meets an entry file first
        missing = [f for f in spec.entry_files if f not in tree.files]
        if missing:
            return Generation({}, "; ".join(filter(None, [tree.note(), f"{folder} lacks entry file(s) {missing}"])))
        return Generation(tree.files, tree.note())
