"""The Discord bot's cogs: questions (mentions, DMs, channels, /ask) and sources (/search, /source, /sources...)."""
