"""Messaging channels: text shaping for the ways the assistant reaches people."""

# Channels that can write to a participant unasked (a caseworker's reply, a reminder, an offer);
# the tablet and the REST channel answer only what they are asked.
PUSH_CHANNELS = frozenset({"telegram", "46elks", "twilio"})
SMS_CHANNELS = frozenset({"46elks", "twilio"})
