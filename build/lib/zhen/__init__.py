"""zhen: offline Chinese→English bilingual, sentence-aligned, term-annotated TEI.

The data flows one way: read → segment → match terms → translate → build TEI → write.
Importing this package loads no model and touches no network.
"""

__version__ = "0.2.0"
