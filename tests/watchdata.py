"""Articles for the watcher's tests: invented news, long enough to be read as articles by every reader."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.answer.service import NewsService
from bot.settings import Settings

FERRY = ("The Westport ferry service will stop running on Sundays from next month, the harbour board said on "
         "Tuesday.\n\nBoard chair Maria Lindqvist said the Sunday crossings carried fewer than forty passengers "
         "on average last winter. \"We cannot keep a boat running for a handful of people,\" Lindqvist said.\n\n"
         "Local traders warned that weekend visitors would stay away. The board will review the timetable "
         "again in the autumn, when passenger figures for the summer are known.")
FERRY_UPDATED = FERRY.replace("fewer than forty", "fewer than thirty") + (
    "\n\nThe board later said that a reduced Sunday service would run during the summer holidays.")
LIBRARY = ("The Westport library will open until nine in the evening on weekdays, the town council decided on "
           "Monday.\n\nCouncillor Tomas Berg said the longer hours would cost about 80,000 crowns a year. "
           "\"Students need a quiet place to work after school,\" Berg said.\n\nThe new hours start in March "
           "and will be reviewed after one year of use by the council's culture committee.")
STORM = ("A storm brought down power lines across the northern valley overnight, the grid operator said on "
         "Wednesday.\n\nAbout 3,000 homes were without electricity in the morning. Crews expected to restore "
         "power to most of them by the evening, operator spokesman Henrik Dahl said.\n\nThe weather service "
         "warned of more strong winds on Thursday and advised drivers to avoid mountain roads.")
BRIDGE = ("Engineers closed the old railway bridge at Northby for urgent repairs, the transport agency said on "
          "Friday.\n\nInspectors found cracks in two of the bridge's steel supports during a routine check. "
          "\"Safety comes first, and trains will use the diversion until the work is done,\" agency director "
          "Karin Holm said.\n\nThe repairs are expected to take six weeks and to cost about two million crowns.")
SEEDS = {
    "harbour.txt": "date 2024-01-05 Harbour board plans a review\n\nThe harbour board of Westport met on Friday to "
                   "discuss its budget for the year.\n\nThe board said it would publish a review of every ferry "
                   "route before the summer. Ticket prices will not change this year, the board said.\n",
    "council.txt": "date 2024-01-08 Council meets on the budget\n\nThe Westport town council agreed its budget on "
                   "Monday after a long debate.\n\nCouncillors voted to spend more on schools and roads. The "
                   "opposition said the plan left too little for culture and the town's library.\n",
}


def item(guid: str, title: str, link: str, date: str, text: str) -> dict[str, str]:
    """One feed item."""
    return {"guid": guid, "title": title, "link": link, "date": date, "text": text}


def watched_service(base: Path, embedder, **overrides: object) -> NewsService:
    """A service over a small seeds directory of invented articles, indexed with the fast embedder."""
    seeds = base / "seeds"
    if seeds.exists():
        shutil.rmtree(seeds)
    seeds.mkdir(parents=True)
    for name, text in SEEDS.items():
        (seeds / name).write_text(text, encoding="utf-8")
    settings = Settings(seeds_dir=seeds, index_dir=base / "index", feedback_db=base / "feedback.sqlite3",
                        watch_state=base / "watch.sqlite3", cooldown_seconds=0.0).with_overrides(**overrides)
    service = NewsService(settings, embedder)
    service.reindex()
    return service
