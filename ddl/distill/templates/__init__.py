"""The prompt templates of ``ddl distill`` (package data: ``*.txt`` and the fallback ``*.ddl``)."""
