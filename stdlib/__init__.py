"""DDL standard library modules, written in DDL (shipped as package data)."""
