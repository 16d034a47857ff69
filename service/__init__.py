"""Front ends that serve people over the network: the HTTP API and the Slack bot.

Both are thin layers over ``qa.engine.Engine``; they arrive with their own issues.
"""
