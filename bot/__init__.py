"""Intake assistant: a Rasa 3.6 front door to work-oriented, pre-rehabilitating activities."""

__version__ = "0.1.0"
