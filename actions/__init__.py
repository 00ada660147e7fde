"""Custom actions of the intake assistant, split by concern (rasa_sdk loads this package)."""
