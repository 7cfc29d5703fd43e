"""The project as a newcomer meets it: packaging, its reference, its README."""
