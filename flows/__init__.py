"""Bytewax dataflows, their sources and sinks, and the `revguard` command line.

Everything with I/O lives here; the rules it applies come from `rating`."""
