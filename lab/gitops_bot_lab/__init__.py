"""Stand-ins and the monitoring lab for gitops-bot tests and demos (not shipped with the bot)."""
