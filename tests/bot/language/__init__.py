"""Tests of bot.language: detection, the model, its build, normalisation and NLU components."""
