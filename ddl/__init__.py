"""DDL, the Discrete Distillation Language."""

__version__ = "0.1.0"
