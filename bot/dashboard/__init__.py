"""The caseworkers' dashboard: queries over referrals, sessions, the funnel and the audit log,
and the Swedish texts it shows (a summary of each referral's answers, barriers, PHQ-4).

Nothing here knows about Flask: the web views (:mod:`bot.web.dashboard`) call these functions
with their own database session.
"""
