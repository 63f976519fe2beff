"""zhen's TEI: built from a Document, read back into one, checked, and edited by people.

The shape is documented in docs/tei-format.md.  `names` holds the namespaces, ids and
fixed texts; `body` serialises a document (header first, then paragraph by paragraph in
bounded memory: `TeiWriter`, `tei_bytes`); `header` builds the teiHeader (provenance,
counts as data, taxonomies) and records QA marks; `read` reads a TEI back (what every
export, the review and the edit path start from); `edits` finds people's translations
and carries them into rewrites; `validate` checks files against tei_all (`schema` finds
the schema and jing) and zhen's invariants.
"""
