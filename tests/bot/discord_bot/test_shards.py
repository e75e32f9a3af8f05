"""Several bot processes (shards) over one PostgreSQL database: /reindex in one shard while two other processes
answer; the other shard's next question and /source choices read the new generation without a restart."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import discord
import simcord

from bot.answer.service import NewsService
from bot.discord_bot.client import create_bot
from bot.settings import Settings
from tests.postgres import ROOT

PROBE = "What did the port authority say about the harbour ferry timetable?"
ARTICLE = ("Ferry timetable changes\n2024-08-01\n\nThe harbour ferry timetable changes on Monday, the port "
           "authority said, with an extra crossing every evening.\n")


def cited(result) -> str:
    """Return everything an answer's embeds show (citations name their article ids)."""
    return " ".join(f"{f.name} {f.value}" for embed in result.response.embeds for f in embed.fields) + " ".join(
        embed.description or "" for embed in result.response.embeds)


def finish(process: subprocess.Popen) -> tuple[str, str]:
    """Read the rest of an answerer's output through the buffer its first line was read from, then its errors."""
    out = process.stdout.read()
    process.wait(timeout=300)
    process.errors.seek(0)  # type: ignore[attr-defined]
    return out, process.errors.read()  # type: ignore[attr-defined]


def answerer(env: dict[str, str], questions: Path) -> subprocess.Popen:
    """Another process answering from the same database: `newsbot ask --from-file` (the torch encoder: no export)."""
    environ = {**os.environ, "PYTHONPATH": str(ROOT), "NEWSBOT_BACKEND": "torch", **env}
    errors = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed with the process, read after it exits
    process = subprocess.Popen([sys.executable, "-m", "bot", "ask", "--from-file", str(questions), "--json"], cwd=ROOT,
                            env=environ, stdout=subprocess.PIPE, stderr=errors, text=True)
    process.errors = errors  # type: ignore[attr-defined]
    return process


def test_the_shard_settings_reach_the_client(tmp_path: Path) -> None:
    settings = Settings(seeds_dir=tmp_path, index_dir=tmp_path / "index", shard_id=1, shard_count=2)
    bot = create_bot(settings, service=object())  # type: ignore[arg-type]
    assert (bot.shard_id, bot.shard_count) == (1, 2)


async def test_reindex_in_one_shard_while_two_other_processes_answer(pg_url, tmp_path: Path, real_embedder) -> None:
    seeds = tmp_path / "seeds"
    shutil.copytree(ROOT / "seeds", seeds)
    base = Settings(seeds_dir=seeds, index_dir=tmp_path / "index", database_url=pg_url, cooldown_seconds=0.0,
                    shard_count=2, shard_id=0, feedback_db=tmp_path / "fb0.sqlite3")
    first = NewsService(base, real_embedder)
    first.reindex()
    second = NewsService(base.with_overrides(shard_id=1, feedback_db=tmp_path / "fb1.sqlite3"), real_embedder)
    questions = tmp_path / "questions.txt"
    questions.write_text("\n".join(["What did Crosetto say about troops?", PROBE] * 20) + "\n", encoding="utf-8")
    env = {"NEWSBOT_DATABASE_URL": pg_url, "NEWSBOT_SEEDS_DIR": str(seeds), "NEWSBOT_INDEX_DIR": str(tmp_path / "ix")}
    others = [answerer(env, questions) for _ in range(2)]
    try:
        for process in others:
            assert process.stdout.readline().startswith("{")
        # simcord runs one Discord per event loop: shard 1 gets its own loop in a thread, as it would its own process.
        ready, reindexed = threading.Event(), threading.Event()
        seen: dict[str, object] = {}

        async def shard_one() -> None:
            async with simcord.run(create_bot(second.settings, service=second), settle_timeout=60) as shard1:
                other = shard1.create_guild("Newsroom B")
                room = other.create_text_channel("general")
                reader = other.add_member(shard1.create_user("reader"))
                seen["before"] = cited(await reader.slash(room, "ask", question=PROBE))
                seen["choices_before"] = len(await reader.autocomplete(room, "source", "id", ""))
                ready.set()
                await asyncio.to_thread(reindexed.wait, 300)
                second.backend._checked = None  # the once-a-second generation check is due
                seen["after"] = cited(await reader.slash(room, "ask", question=PROBE))
                seen["choices_after"] = len(await reader.autocomplete(room, "source", "id", ""))

        def run_shard_one() -> None:
            try:
                asyncio.run(shard_one())
            except BaseException as exc:  # reported by the test below
                seen["error"] = exc
                ready.set()

        thread = threading.Thread(target=run_shard_one)
        thread.start()
        async with simcord.run(create_bot(base, service=first), settle_timeout=60) as shard0:
            home = shard0.create_guild("Newsroom A")
            desk = home.create_text_channel("desk")
            admins = home.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
            admin = home.add_member(shard0.create_user("admin"), roles=[admins])
            await asyncio.to_thread(ready.wait, 300)
            (seeds / "950_pg_ferry.txt").write_text(ARTICLE, encoding="utf-8")
            result = await admin.slash(desk, "reindex")
            reindexed.set()
            assert result.response.content.startswith("Index updated: added 1 (`950_pg_ferry`)")
        await asyncio.to_thread(thread.join, 300)
        assert "error" not in seen, seen.get("error")
        assert "950_pg_ferry" not in seen["before"] and seen["choices_before"] == 5
        assert "950_pg_ferry" in seen["after"] and seen["choices_after"] == 6
        outputs = [finish(process) for process in others]
    finally:
        for process in others:
            if process.poll() is None:
                process.kill()
    for process, (out, err) in zip(others, outputs, strict=True):
        assert process.returncode == 0, err
        answers = [json.loads(line) for line in out.splitlines() if line.strip()]
        assert len(answers) == 39 and all(a["question"] for a in answers)
