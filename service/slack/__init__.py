"""The Slack bot: answers mentions, direct messages and `/ask` in the thread they came from.

It runs inside `qa serve` (Events API at /slack/events) or on its own with `qa slack` (Socket
Mode); both are the same slack-bolt app, built by ``service.slack.bot.SlackBot``.
"""
