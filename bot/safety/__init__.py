"""Safety: recognising a crisis, and handing a conversation to a person."""
