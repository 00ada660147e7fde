"""The scripted participant of bot.simulate, bound to the test servers."""

from __future__ import annotations

from bot.simulate import BOOKING, SWEDISH_ANSWERS as BASE_ANSWERS, run_intake as _run_intake

__all__ = ["BASE_ANSWERS", "BOOKING", "run_intake"]


def run_intake(servers, sender, answers, **kwargs):
    return _run_intake(servers.client, sender, answers, **kwargs)
