#!/usr/bin/env python3
"""Check the newsroom question and conversation sets against the built corpus.

    python check_questions.py [--corpus DIR] [FILE.jsonl ...]

Default corpus: ./corpus (built by build_corpus.py); default files: the four
questions_*/conversations_* JSONL files next to this script.

Errors (exit 1):
  * duplicate ids (questions, conversations and turns share one id space)
  * unknown type, missing field, sources that are not corpus ids
  * an evidence phrase not 3-10 words long, or not found (case-insensitive,
    curly quotes / dashes / whitespace normalised) in any named source
  * a multi_source question without evidence_all over 2+ sources, or an
    evidence_all phrase not in its own source
  * an unanswerable item with sources or evidence
  * a conversation with fewer than 3 or more than 5 turns
Warnings:
  * an answerable source none of whose evidence phrases it contains
  * an evidence phrase that also occurs in articles not listed as sources
  * a held-out item sharing an article with a train item
Prints counts per type and split at the end.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import re
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
Q_TYPES = {"speaker", "number", "date", "name", "why", "paraphrase", "multi_source",
           "near_topic", "off_topic"}
UNANSWERABLE_TYPES = {"near_topic", "off_topic"}
TURN_TYPES = {"first", "pronoun", "ellipsis", "that_reference", "answer_meta",
              "topic_shift", "unanswerable"}
MINIMUM = {"speaker": 20, "number": 15, "date": 10, "name": 12, "why": 10,
           "paraphrase": 15, "multi_source": 6, "near_topic": 22, "off_topic": 6}

_TRANS = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2212": "-", "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u2026": "...",
})


def norm(s: str) -> str:
    s = unicodedata.normalize("NFKC", s).translate(_TRANS).lower()
    return re.sub(r"\s+", " ", s).strip()


def load_corpus(root: str) -> dict[str, str]:
    docs = {}
    for sub in ("text", "scrape"):
        d = os.path.join(root, sub)
        if not os.path.isdir(d):
            continue
        for fn in sorted(os.listdir(d)):
            if fn.endswith(".txt"):
                with open(os.path.join(d, fn), encoding="utf-8") as f:
                    docs[fn[:-4]] = norm(f.read())
    return docs


class Checker:
    def __init__(self, docs):
        self.docs = docs
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self.ids: set[str] = set()

    def err(self, where, msg):
        self.errors.append(f"{where}: {msg}")

    def warn(self, where, msg):
        self.warnings.append(f"{where}: {msg}")

    def check_id(self, where, _id):
        if not isinstance(_id, str) or not _id:
            self.err(where, "missing id")
        elif _id in self.ids:
            self.err(where, f"duplicate id {_id}")
        else:
            self.ids.add(_id)

    def check_phrase(self, where, phrase, sources, listed=None) -> list[str]:
        """Return the sources that contain the phrase."""
        listed = set(listed or sources)
        if not isinstance(phrase, str):
            self.err(where, f"evidence is not a string: {phrase!r}")
            return []
        n = len(phrase.split())
        if not 3 <= n <= 10:
            self.err(where, f"evidence phrase has {n} words (want 3-10): {phrase!r}")
        p = norm(phrase)
        hits = [s for s in sources if s in self.docs and p in self.docs[s]]
        if not hits:
            self.err(where, f"evidence phrase not in {sources}: {phrase!r}")
        others = [d for d, t in self.docs.items() if d not in listed and p in t]
        if others:
            self.warn(where, f"phrase {phrase!r} also in unlisted {others}")
        return hits

    def check_answer(self, where, item, qtype):
        answerable = item.get("answerable")
        if not isinstance(answerable, bool):
            self.err(where, "answerable must be true or false")
            return
        sources = item.get("sources", [])
        evidence = item.get("evidence", [])
        if not answerable:
            if sources or evidence or item.get("evidence_all"):
                self.err(where, "unanswerable item has sources/evidence")
            return
        if not sources or not isinstance(sources, list):
            self.err(where, "answerable item without sources")
            return
        for s in sources:
            if s not in self.docs:
                self.err(where, f"unknown source {s}")
        if len(set(sources)) != len(sources):
            self.err(where, "duplicate source ids")
        if not evidence:
            self.err(where, "answerable item without evidence")
        covered = set()
        for ph in evidence:
            covered.update(self.check_phrase(where, ph, sources))
        if qtype == "multi_source":
            ea = item.get("evidence_all") or []
            srcs = {e.get("source") for e in ea if isinstance(e, dict)}
            if len(srcs) < 2:
                self.err(where, "multi_source needs evidence_all over 2+ sources")
            for e in ea:
                s = e.get("source")
                if s not in sources:
                    self.err(where, f"evidence_all source {s} not in sources")
                    continue
                self.check_phrase(where, e.get("phrase"), [s], listed=sources)
                covered.add(s)
        for s in sources:
            if s in self.docs and s not in covered:
                self.warn(where, f"source {s} contains none of the evidence phrases")


def read_jsonl(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if line:
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise SystemExit(f"{path}:{n}: bad JSON: {e}") from None
    return out


def item_sources(item):
    if "turns" in item:
        return {s for t in item["turns"] for s in t.get("sources", [])} | set(item.get("about", []))
    return set(item.get("sources", [])) | set(item.get("about", []))


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=os.path.join(HERE, "corpus"))
    ap.add_argument("files", nargs="*")
    ap.add_argument("--quiet-warnings", action="store_true")
    a = ap.parse_args(argv)
    files = a.files or [os.path.join(HERE, f) for f in (
        "questions_train.jsonl", "questions_heldout.jsonl",
        "conversations_train.jsonl", "conversations_heldout.jsonl")]
    docs = load_corpus(a.corpus)
    if not docs:
        raise SystemExit(f"no corpus under {a.corpus}: run build_corpus.py --out {a.corpus}")
    ck = Checker(docs)
    counts = collections.defaultdict(collections.Counter)
    split_sources = collections.defaultdict(set)
    per_split_items = collections.defaultdict(list)
    for path in files:
        split = "heldout" if "heldout" in os.path.basename(path) else "train"
        kind = "conversations" if "conversation" in os.path.basename(path) else "questions"
        for item in read_jsonl(path):
            where = f"{os.path.basename(path)}:{item.get('id')}"
            ck.check_id(where, item.get("id"))
            per_split_items[split].append(item)
            split_sources[split] |= item_sources(item)
            if kind == "questions":
                t = item.get("type")
                if t not in Q_TYPES:
                    ck.err(where, f"unknown type {t}")
                if not item.get("question"):
                    ck.err(where, "missing question")
                if (t in UNANSWERABLE_TYPES) == bool(item.get("answerable")):
                    ck.err(where, f"type {t} vs answerable {item.get('answerable')}")
                ck.check_answer(where, item, t)
                counts[f"questions_{split}"][t] += 1
            else:
                turns = item.get("turns") or []
                if not 3 <= len(turns) <= 5:
                    ck.err(where, f"{len(turns)} turns (want 3-5)")
                for i, turn in enumerate(turns):
                    tw = f"{where}#{i + 1}"
                    t = turn.get("type")
                    if t not in TURN_TYPES:
                        ck.err(tw, f"unknown turn type {t}")
                    if (i == 0) != (t == "first"):
                        ck.err(tw, "type 'first' is for the first turn only")
                    if not turn.get("question") or not turn.get("standalone"):
                        ck.err(tw, "missing question/standalone")
                    if t == "unanswerable" and turn.get("answerable"):
                        ck.err(tw, "unanswerable turn marked answerable")
                    ck.check_answer(tw, turn, t)
                    counts[f"conversation_turns_{split}"][t] += 1
                counts[f"conversations_{split}"]["conversations"] += 1
    # leakage between splits
    shared = split_sources["train"] & split_sources["heldout"]
    if shared:
        for item in per_split_items["heldout"]:
            common = item_sources(item) & split_sources["train"]
            if common:
                ck.warn(f"heldout:{item.get('id')}", f"shares articles with train: {sorted(common)}")
    total = collections.Counter()
    for k in ("questions_train", "questions_heldout"):
        total.update(counts[k])
    for t, m in MINIMUM.items():
        if total[t] < m:
            ck.err("counts", f"only {total[t]} {t} questions (want >= {m})")

    if not a.quiet_warnings:
        for w in ck.warnings:
            print("WARNING", w)
    for e in ck.errors:
        print("ERROR", e)
    print()
    for k in sorted(counts):
        c = counts[k]
        print(f"{k}: {sum(c.values())}  " + ", ".join(f"{t}={n}" for t, n in sorted(c.items())))
    print(f"questions total: {sum(total.values())}  " + ", ".join(f"{t}={total[t]}" for t in MINIMUM))
    print(f"articles shared between train and heldout: {len(shared)}")
    print(f"{len(ck.errors)} errors, {len(ck.warnings)} warnings")
    return 1 if ck.errors else 0


if __name__ == "__main__":
    sys.exit(main())
