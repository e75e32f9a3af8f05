"""The small exception tree every entry point turns into a one-line message."""


class NewsbotError(Exception):
    """Base of every error newsbot reports to a user."""

    exit_code = 1


class ConfigError(NewsbotError):
    """A setting is missing or invalid."""

    exit_code = 2


class CorpusError(NewsbotError):
    """The seeds directory cannot be read as a corpus."""


class IndexMissingError(NewsbotError):
    """There is no index where the settings point."""


class IndexMismatchError(NewsbotError):
    """The index on disk was built with other settings or another corpus."""


class IndexCorruptError(NewsbotError):
    """An index file is missing, truncated or fails its checksum."""


class IndexWriteError(NewsbotError):
    """The index cannot be written: no permission, a read-only or a full disk."""


class IndexBusyError(NewsbotError):
    """Another process is building the index."""


class SourceNotFoundError(NewsbotError):
    """No article has the requested id."""


class ModelLoadError(NewsbotError):
    """The embedding model could not be loaded."""


class StoreUnavailableError(NewsbotError):
    """The database holding the index cannot be reached, refused the credentials, or lost the connection."""
