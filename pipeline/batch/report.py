"""What a batch run did, file by file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class FileResult:
    input: Path
    output: Path | None = None
    sentences: int = 0
    from_memory: int = 0
    human: int = 0  # sentences with a person's translation
    error: str | None = None
    up_to_date: bool = False  # skipped: the output already holds this translation
    edits: int = 0  # human sentences in the output this one replaced
    edits_carried: int = 0  # of those, whose Chinese sentence is still in the input
    merged: int = 0  # times the output had changed on disk when written (batch.merge)
    qa: dict[str, int] = field(default_factory=dict)  # QA findings by severity


@dataclass
class BatchReport:
    files: list[FileResult] = field(default_factory=list)
    decoder_calls: int = 0
    sentences_translated: int = 0
    model_loaded: bool = False
    edits_stored: int = 0  # human translations the memory gained or updated from outputs
    cluster_workers: dict[str, int] = field(default_factory=dict)  # --cluster: chunks by worker

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.error]

    @property
    def written(self) -> list[FileResult]:
        return [f for f in self.files if f.output and not f.error and not f.up_to_date]

    @property
    def up_to_date(self) -> list[FileResult]:
        return [f for f in self.files if f.up_to_date]

    @property
    def edits(self) -> tuple[int, int]:
        """(human sentences of rewritten outputs carried into the new ones, those whose
        Chinese sentence is gone: kept in the memory only)."""
        done = self.written
        carried = sum(f.edits_carried for f in done)
        return carried, sum(f.edits for f in done) - carried
