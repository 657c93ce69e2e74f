"""Papermill support for notebooks in the cast language: a translator that writes
parameters as cast assignments, registered with papermill under the language name `cast`."""
from .translator import CastTranslator, register

__all__ = ["CastTranslator", "register"]
__version__ = "0.1.0"
