"""The batch runner: input files to TEI files, in one process.

`runner` drives a run (`translate_files`, `BatchTranslator`: read, window, write);
`paragraphs` reads, segments and matches; `resolve` decides where each sentence's English
comes from (a person, the memory, this run, the decoder); `write` writes a document's TEI
with its QA findings; `report` says what a run did.
"""
