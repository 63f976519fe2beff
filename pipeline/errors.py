"""Exceptions that carry a message meant for the user (one line, no traceback)."""


class ZhenError(Exception):
    """Base class: a problem the user can fix; the CLI prints str(exc) and exits non-zero."""

    exit_code = 1


class InputError(ZhenError):
    """An input file cannot be read as Chinese text (binary, undecodable, empty)."""


class GlossaryError(ZhenError):
    """The glossary file is missing, malformed, or an edit would make it invalid."""


class ModelError(ZhenError):
    """A translation package is missing, corrupt or incompatible."""


class OutputError(ZhenError):
    """An output cannot be written (unwritable folder, disk full)."""


class TeiError(ZhenError):
    """A TEI file cannot be read back (not well-formed, not a zhen TEI)."""


class SchemaError(ZhenError):
    """The TEI schema is not in the cache (or is corrupt), or cannot be fetched."""


class MemoryServerError(ZhenError):
    """The translation memory cannot be used: its PostgreSQL URL is malformed, the server
    cannot be reached, refuses the login, lacks the database, or went away mid-run."""


class MemorySchemaError(ZhenError):
    """The translation memory was made by a newer zhen (its schema version is higher)."""


class ClusterError(ZhenError):
    """The Dask cluster of --cluster cannot be reached, or went away during the run."""


class StaleFile(OutputError):
    """A file changed on disk since it was read, and the writer cannot merge: nothing was
    written (zhen.filelock.write_guarded)."""
