"""Messaging channels: text shaping for the ways the assistant reaches people."""
