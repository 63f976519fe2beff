"""Exports built from TEI files read back (so a translator's edits flow into them).

Each public function takes TEI paths and an output location and returns the paths written:
`export_tmx`, `export_vrt`, `export_moses`, `export_cesalign`, `build_corpus`.
"""

from __future__ import annotations

from .corpus import build_corpus
from .parallel import export_cesalign, export_moses, export_tmx
from .vrt import export_vrt

__all__ = ["build_corpus", "export_cesalign", "export_moses", "export_tmx", "export_vrt"]
