"""The intake's domain logic: questions, answers, eligibility, referrals and booking."""
