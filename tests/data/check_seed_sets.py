#!/usr/bin/env python3
"""Check the seeds gold data in this directory.

Verifies, for conversations_train.jsonl, conversations_heldout.jsonl and questions_fresh.jsonl:
  * every line is JSON with the required fields and no unknown ones; ids unique across all files;
  * types are known; a conversation has 3-6 turns, its first turn is type "first", later turns a
    follow-up type; a follow-up is type "unanswerable" exactly when answerable is false;
  * answerable items have non-empty `sources` (known ids) and `evidence`; unanswerable ones have neither;
  * every evidence phrase is 2-10 words and appears (case-insensitive; curly quotes, dashes, ellipsis and
    whitespace normalized) in the text of at least one named source -- or, with "evidence_in": "metadata",
    in that source's entry of metadata.json (there a whole field value such as "2024-03-10" may be 1 word);
  * every gold source contains at least one of the evidence phrases (so gold sources are not padded);
  * `evidence_all` pairs name a gold source and occur in it; multi_source questions have them, over >=2 sources;
  * fresh questions do not repeat (normalized) a question of the existing sets.
Warnings (not errors): an evidence phrase also found in a source that is not gold (maybe a missing source);
a fresh question close (difflib ratio >= 0.8) to an existing one.

Usage: python3 check.py [--quiet]   (exit status 1 on any error)
"""
import json
import re
import sys
from collections import Counter
from difflib import SequenceMatcher
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SEEDS = ROOT / "seeds"
METADATA = ROOT / "seeds" / "metadata.json"  # read only
EXISTING = [ROOT.parent / "shared" / "eval" / "dev_questions.jsonl",
            HERE / "questions.jsonl",
            HERE / "questions_heldout.jsonl"]

Q_TYPES = {"paraphrase", "speaker", "number", "date", "name", "why", "multi_source",
           "unanswerable_near_topic", "unanswerable_off_topic"}
FOLLOW_TYPES = {"pronoun", "ellipsis", "that_reference", "answer_meta", "topic_shift", "unanswerable"}
Q_KEYS_REQ = {"id", "question", "answerable", "type"}
Q_KEYS_OPT = {"sources", "evidence", "evidence_all", "evidence_in", "note"}
T_KEYS_REQ = {"question", "standalone", "answerable", "type"}
T_KEYS_OPT = Q_KEYS_OPT

TRANS = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
                       "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
                       "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
                       "\u2015": "-", "\u2212": "-", "\u00a0": " ", "\u202f": " "})


def norm(s):
    s = s.translate(TRANS).replace("\u2026", "...").lower()
    return re.sub(r"\s+", " ", s).strip()


texts = {p.stem: norm(p.read_text(encoding="utf-8")) for p in sorted(SEEDS.glob("*.txt"))}
meta_raw = json.loads(METADATA.read_text(encoding="utf-8"))["articles"]
meta_text, meta_values = {}, {}
for sid, entry in meta_raw.items():
    parts, values = [], set()
    for field in entry.values():
        for v in (field.get("value"), field.get("note")):
            if isinstance(v, str):
                parts.append(v)
        if isinstance(field.get("value"), str):
            values.add(norm(field["value"]))
    meta_text[sid] = norm(" | ".join(parts))
    meta_values[sid] = values

errors, warnings = [], []
seen_ids = {}


def err(where, msg):
    errors.append(f"{where}: {msg}")


def check_keys(where, obj, req, opt):
    missing = req - obj.keys()
    if missing:
        err(where, f"missing fields {sorted(missing)}")
    extra = obj.keys() - req - opt
    if extra:
        err(where, f"unknown fields {sorted(extra)}")


def check_gold(where, item, is_multi=False):
    """Sources/evidence of one question or turn."""
    ans = item.get("answerable")
    if not isinstance(ans, bool):
        err(where, "answerable must be true/false")
        return
    if not ans:
        for k in ("sources", "evidence", "evidence_all", "evidence_in"):
            if item.get(k):
                err(where, f"unanswerable item has {k}")
        return
    sources, evidence = item.get("sources"), item.get("evidence")
    if not sources or not isinstance(sources, list):
        err(where, "answerable item needs non-empty sources")
        return
    if not evidence or not isinstance(evidence, list):
        err(where, "answerable item needs non-empty evidence")
        return
    if len(set(sources)) != len(sources):
        err(where, "duplicate source ids")
    for s in sources:
        if s not in texts:
            err(where, f"unknown source {s!r}")
    sources = [s for s in sources if s in texts]
    in_meta = item.get("evidence_in") == "metadata"
    if "evidence_in" in item and not in_meta:
        err(where, f"evidence_in must be 'metadata', got {item['evidence_in']!r}")
    hay = meta_text if in_meta else texts
    hit_sources = set()
    for ph in evidence:
        if not isinstance(ph, str) or not ph.strip():
            err(where, f"bad evidence {ph!r}")
            continue
        n, nw = norm(ph), len(ph.split())
        whole_value = in_meta and any(n in meta_values.get(s, ()) for s in sources)
        if not (2 <= nw <= 10) and not whole_value:
            err(where, f"evidence {ph!r} has {nw} words (need 2-10)")
        found = [s for s in sources if n in hay.get(s, "")]
        if not found:
            err(where, f"evidence {ph!r} not in {'metadata of ' if in_meta else ''}{sources}")
        hit_sources.update(found)
        others = [s for s in hay if s not in sources and n in hay[s]]
        if others:
            warnings.append(f"{where}: evidence {ph!r} also in non-gold {others}")
    for s in sources:
        if s not in hit_sources:
            err(where, f"gold source {s} contains none of the evidence phrases")
    ea = item.get("evidence_all")
    if ea is not None:
        if not isinstance(ea, list) or not ea:
            err(where, "evidence_all must be a non-empty list")
        else:
            for pair in ea:
                if not isinstance(pair, dict) or set(pair) != {"source", "phrase"}:
                    err(where, f"bad evidence_all entry {pair!r}")
                    continue
                if pair["source"] not in sources:
                    err(where, f"evidence_all source {pair['source']} not among sources")
                if norm(pair["phrase"]) not in texts.get(pair["source"], ""):
                    err(where, f"evidence_all phrase {pair['phrase']!r} not in {pair['source']}")
    if is_multi and (not ea or len({p.get("source") for p in ea if isinstance(p, dict)}) < 2):
        err(where, "multi_source needs evidence_all over >= 2 sources")


def register_id(where, i):
    if not isinstance(i, str) or not i:
        err(where, "bad id")
    elif i in seen_ids:
        err(where, f"duplicate id {i!r} (also in {seen_ids[i]})")
    else:
        seen_ids[i] = where


def read_jsonl(path):
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append((n, json.loads(line)))
        except json.JSONDecodeError as e:
            err(f"{path.name}:{n}", f"bad JSON: {e}")
    return rows


def check_conversations(path):
    stats = Counter()
    rows = read_jsonl(path)
    for n, conv in rows:
        where = f"{path.name}:{n}"
        check_keys(where, conv, {"id", "turns"}, {"note"})
        register_id(where, conv.get("id"))
        turns = conv.get("turns") or []
        if not (3 <= len(turns) <= 6):
            err(where, f"{len(turns)} turns (need 3-6)")
        for k, t in enumerate(turns):
            tw = f"{where} {conv.get('id')} turn {k + 1}"
            if not isinstance(t, dict):
                err(tw, "turn is not an object")
                continue
            check_keys(tw, t, T_KEYS_REQ, T_KEYS_OPT)
            for f in ("question", "standalone"):
                if not isinstance(t.get(f), str) or not t.get(f, "").strip():
                    err(tw, f"empty {f}")
            typ = t.get("type")
            if k == 0:
                if typ != "first":
                    err(tw, f"first turn must be type 'first', got {typ!r}")
            else:
                if typ not in FOLLOW_TYPES:
                    err(tw, f"unknown follow-up type {typ!r}")
                elif (typ == "unanswerable") != (t.get("answerable") is False):
                    err(tw, "type 'unanswerable' iff answerable is false")
                stats["followups"] += 1
                if t.get("evidence_in") == "metadata":
                    stats["metadata_evidence"] += 1
            stats[f"type:{typ}"] += 1
            check_gold(tw, t)
    stats["conversations"] = len(rows)
    stats["turns"] = sum(len(c.get("turns") or []) for _, c in rows)
    return stats


def check_questions(path):
    stats = Counter()
    existing = set()
    for p in EXISTING:
        if p.exists():
            for line in p.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    existing.add(norm(json.loads(line)["question"]))
    rows = read_jsonl(path)
    for n, q in rows:
        where = f"{path.name}:{n} {q.get('id')}"
        check_keys(where, q, Q_KEYS_REQ, Q_KEYS_OPT)
        register_id(where, q.get("id"))
        typ = q.get("type")
        if typ not in Q_TYPES:
            err(where, f"unknown type {typ!r}")
        if typ and typ.startswith("unanswerable") != (q.get("answerable") is False):
            err(where, "unanswerable_* type iff answerable is false")
        qn = norm(q.get("question", ""))
        if qn in existing:
            err(where, "question repeats one of the existing sets")
        else:
            near = max(existing, key=lambda e: SequenceMatcher(None, qn, e).ratio(), default=None)
            if near and SequenceMatcher(None, qn, near).ratio() >= 0.8:
                warnings.append(f"{where}: close to existing question {near!r}")
        check_gold(where, q, is_multi=(typ == "multi_source"))
        stats[f"type:{typ}"] += 1
    stats["questions"] = len(rows)
    return stats


def main():
    quiet = "--quiet" in sys.argv
    report = {}
    for name, fn in (("conversations_train.jsonl", check_conversations),
                     ("conversations_heldout.jsonl", check_conversations),
                     ("questions_fresh.jsonl", check_questions)):
        p = HERE / name
        if not p.exists():
            err(name, "missing file")
            continue
        report[name] = fn(p)
    # size requirements of the brief
    tr = report.get("conversations_train.jsonl", Counter())
    if tr and (tr["conversations"] < 20 or tr["followups"] < 50):
        err("conversations_train.jsonl", "need >= 20 conversations and >= 50 follow-ups")
    ho = report.get("conversations_heldout.jsonl", Counter())
    if ho and ho["conversations"] != 12:
        err("conversations_heldout.jsonl", f"need 12 conversations, got {ho['conversations']}")
    fr = report.get("questions_fresh.jsonl", Counter())
    if fr:
        un = sum(v for k, v in fr.items() if k.startswith("type:unanswerable"))
        if fr["questions"] != 40 or un != 12:
            err("questions_fresh.jsonl", f"need 40 questions with 12 unanswerable, got {fr['questions']}/{un}")
    for name, st in report.items():
        print(f"== {name}")
        for k in sorted(st):
            print(f"   {k}: {st[k]}")
        if st.get("followups"):
            print(f"   unanswerable share of follow-ups: {st['type:unanswerable'] / st['followups']:.0%}")
    if warnings and not quiet:
        print(f"\n{len(warnings)} warning(s):")
        for w in warnings:
            print("  W", w)
    if errors:
        print(f"\n{len(errors)} error(s):")
        for e in errors:
            print("  E", e)
        sys.exit(1)
    print("\nOK: no errors")


if __name__ == "__main__":
    main()
