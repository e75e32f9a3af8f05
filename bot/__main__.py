"""`newsbot` and `python -m bot`: the command line, with the Discord bot wired in for `serve` and `run`."""

from __future__ import annotations

from bot.settings import Settings


def serve_discord(settings: Settings) -> None:
    """Run the Discord bot; discord.py is imported only here, when it is asked for."""
    from bot.discord_bot.client import run_bot

    run_bot(settings)


def main() -> None:
    """Console-script entry point."""
    from bot.cli.app import cli

    cli(prog_name="newsbot", obj={"serve": serve_discord})


if __name__ == "__main__":
    main()
