"""The answering layer: read a question, retrieve, decide whether the articles answer it, compose a cited answer.

Never imports discord, click, bot.cli or bot.discord_bot: the CLI and the Discord bot both call it.
"""
