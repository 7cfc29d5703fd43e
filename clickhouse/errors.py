"""What can go wrong with the store, as exceptions whose message is one line for the user.

The command line maps every `StoreError` to exit code 2 and prints `str(error)`.
"""


class StoreError(Exception):
    """A store problem the user can act on; the message is one line."""


class StoreUnavailable(StoreError):
    """No store could be reached: unknown URL scheme, server down, directory held elsewhere."""


class SchemaError(StoreError):
    """The store's recorded schema does not match the migrations this code ships."""


class SchemaTooNew(SchemaError):
    """The store holds a migration this code does not know: it was written by a newer revguard."""


class MigrationChanged(SchemaError):
    """An applied migration file was edited after it ran; applied migrations are immutable."""


class WriteFailed(StoreError):
    """A batch could not be made durable; the caller's checkpoint must not commit."""
