"""The version of ddl (one place; the package root, the cache keys and SARIF read it)."""

__version__ = "0.1.0"
