"""The reader's training pairs: (question, candidate quote, answers or not), built from questions whose answers are
sentences of public news articles and of the SQuAD 2.0 training slice. Split by article: a held-out article's
questions never train. Pure functions over texts, except where files are read."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import click

from embeddings.ingest.sentences import split_sentences
from embeddings.terms import normalize

DATA = Path(__file__).resolve().parent.parent / "data"


@dataclass(frozen=True)
class Sources:
    """Where the articles behind the training questions are read from (none of them is committed)."""

    bbc: Path  # the BBC News dataset (Greene & Cunningham 2006): <category>/<nnn>.txt
    lee: Path  # the Lee corpus's ABC articles, as `make newsroom` writes them: lee_*.txt
    squad: Path  # the SQuAD 2.0 training slice (../shared/qa)
    # Where an article is not on this machine, the sentences its questions quote stand for it (`quoted_sentences`):
    # fewer sentences (about 14 of a BBC article's 20), in the order first quoted, the rest of its questions' answers
    # among them.
    quoted: dict[str, tuple[str, ...]] | None = None


@dataclass(frozen=True)
class Question:
    """A training question on one article, its answers, supports and lures as sentence indices."""

    qid: str
    article: str
    text: str
    answerable: bool
    kind: str
    answers: tuple[int, ...]
    supports: tuple[int, ...]
    lures: tuple[int, ...]


@dataclass(frozen=True)
class Article:
    """An article's sentences, as newsbot splits them."""

    article_id: str
    sentences: tuple[str, ...]


@dataclass(frozen=True)
class Pair:
    """One training example for the reader."""

    question: str
    quote: str
    label: float
    weight: float
    article: str
    kind: str


def held_out(article_id: str, share: int = 5) -> bool:
    """One article in `share` is held out, by a hash of its id: the same split on every run and machine."""
    return int(hashlib.sha256(article_id.encode()).hexdigest(), 16) % share == 0


def seen_in_training(articles: dict[str, str]) -> set[str]:
    """The held-out articles whose text a training article also has (a story filed twice under two ids): never
    measured on, since their text was trained on."""
    trained = {" ".join(text.split()) for article_id, text in articles.items() if not held_out(article_id)}
    return {article_id for article_id, text in articles.items()
            if held_out(article_id) and " ".join(text.split()) in trained}


def split(text: str) -> tuple[str, ...]:
    """An article's sentences, by newsbot's own splitter."""
    return tuple(text[s:e] for s, e in split_sentences(text, 0, len(text)))


def quoted_sentences(files: Sequence[Path] | None = None) -> dict[str, tuple[str, ...]]:
    """Each article's sentences that its written questions quote (answers, supports, lures), in the order first
    quoted: what of an article the committed question files hold when the article itself is not on this machine."""
    found: dict[str, dict[str, None]] = {}
    for path in files if files is not None else sorted(DATA.glob("questions_*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            quoted = found.setdefault(row["article"], {})
            for key in ("answers", "supports", "lures"):
                quoted.update(dict.fromkeys(row.get(key, ())))
    return {article: tuple(sentences) for article, sentences in found.items()}


def make_sources(bbc: Path, lee: Path, squad: Path) -> Sources:
    """The training sources, with the quoted sentences standing for any article not on this machine."""
    return Sources(bbc, lee, squad, quoted_sentences())


def _article_path(article_id: str, sources: Sources) -> Path:
    """Where an article's own text would be on this machine."""
    if article_id.startswith("bbc_"):
        _, category, number = article_id.split("_", 2)
        return sources.bbc / category / f"{number}.txt"
    return sources.lee / f"{article_id}.txt"


def is_quoted(article_id: str, sources: Sources) -> bool:
    """Whether this article is read from its questions' quotes, not from its own text."""
    return not _article_path(article_id, sources).is_file()


def read_article(article_id: str, sources: Sources) -> str | None:
    """One article's text; where its corpus is not on this machine, the sentences its questions quote, one
    paragraph each (`sources.quoted`); None when neither is there."""
    path = _article_path(article_id, sources)
    if path.is_file():
        if article_id.startswith("bbc_"):  # the BBC files are Latin-1, some with CRLF line ends
            return path.read_text(encoding="latin-1").replace("\r", "")
        return path.read_text(encoding="utf-8")
    quoted = sources.quoted.get(article_id) if sources.quoted else None
    return "\n\n".join(quoted) if quoted else None


def _indices(texts: Iterable[str], sentences: Sequence[str]) -> tuple[int, ...]:
    """The sentences that are these texts (exactly, else once whitespace and quotes are normalized)."""
    exact = {s: i for i, s in enumerate(sentences)}
    folded = {normalize(s): i for i, s in enumerate(sentences)}
    found = []
    for text in texts:
        at = exact.get(text, folded.get(normalize(text)))
        if at is not None:
            found.append(at)
    return tuple(dict.fromkeys(found))


def news_questions(sources: Sources, files: Sequence[Path] | None = None) -> tuple[list[Question], dict[str, Article]]:
    """The written questions whose articles are on this machine, with those articles split into sentences."""
    files = files if files is not None else sorted(DATA.glob("questions_*.jsonl"))
    questions: list[Question] = []
    articles: dict[str, Article] = {}
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            row = json.loads(line)
            article_id = row["article"]
            if article_id not in articles:
                text = read_article(article_id, sources)
                if text is None:
                    continue
                quoted = is_quoted(article_id, sources)
                articles[article_id] = Article(article_id, sources.quoted[article_id] if quoted else split(text))
            sentences = articles[article_id].sentences
            answers = _indices(row.get("answers", ()), sentences)
            if row["answerable"] and not answers:
                continue  # its answer is not a sentence of the article as split here
            questions.append(Question(f"{path.stem}:{number}", article_id, row["question"], row["answerable"],
                                      row["type"], answers, _indices(row.get("supports", ()), sentences),
                                      _indices(row.get("lures", ()), sentences)))
    return questions, articles


def squad_questions(path: Path) -> tuple[list[Question], dict[str, Article]]:
    """SQuAD 2.0 training questions: the sentence holding the answer's start answers; for an unanswerable one,
    the sentence holding its plausible answer is a lure. Each paragraph is an article."""
    data = json.loads(path.read_text(encoding="utf-8"))
    questions: list[Question] = []
    articles: dict[str, Article] = {}
    for a, doc in enumerate(data["data"]):
        for p, paragraph in enumerate(doc["paragraphs"]):
            context = paragraph["context"]
            spans = split_sentences(context, 0, len(context))
            article_id = f"squad_{a:02d}_{p:03d}"
            articles[article_id] = Article(article_id, tuple(context[s:e] for s, e in spans))

            def holding(start: int, spans=spans) -> tuple[int, ...]:
                return tuple(i for i, (s, e) in enumerate(spans) if s <= start < e)[:1]

            for qa in paragraph["qas"]:
                if qa.get("is_impossible"):
                    lures = tuple(i for ans in qa.get("plausible_answers", []) for i in holding(ans["answer_start"]))
                    questions.append(Question(qa["id"], article_id, qa["question"], False, "squad", (), (),
                                              tuple(dict.fromkeys(lures))))
                elif qa["answers"]:
                    answers = holding(qa["answers"][0]["answer_start"])
                    if answers:
                        questions.append(Question(qa["id"], article_id, qa["question"], True, "squad", answers, (),
                                                  ()))
    return questions, articles


def article_pairs(question: Question, article: Article, rng: random.Random, in_article: int = 8) -> list[Pair]:
    """A question's pairs within its article: answers (and each with its next sentence, as the answer composer
    quotes two), lures (weighed double), and a sample of the other sentences."""
    sentences = article.sentences
    pairs = []

    def pair(quote: str, label: float, weight: float = 1.0) -> None:
        pairs.append(Pair(question.text, quote, label, weight, article.article_id, question.kind))

    for i in question.answers:
        pair(sentences[i], 1.0)
        if i + 1 < len(sentences) and rng.random() < 0.5:
            pair(f"{sentences[i]} {sentences[i + 1]}", 1.0, 0.5)
    for i in question.lures:
        if i not in question.answers:
            pair(sentences[i], 0.0, 2.0)
    taken = set(question.answers) | set(question.supports) | set(question.lures)
    others = [i for i in range(len(sentences)) if i not in taken and len(sentences[i]) > 20]
    for i in rng.sample(others, min(in_article, len(others))):
        pair(sentences[i], 0.0)
    return pairs


def cross_negatives(questions: Sequence[Question], articles: dict[str, Article], embed, per_question: int = 4,
                    near: float = 0.85) -> dict[str, list[str]]:
    """For each question, the sentences of other articles closest to it by the bi-encoder (what retrieval would
    put first), leaving out any close to one of its answers (a story told twice)."""
    import numpy as np

    ids, texts, row_of = [], [], {}
    for article in articles.values():
        for i, sentence in enumerate(article.sentences):
            row_of[(article.article_id, i)] = len(texts)
            ids.append(article.article_id)
            texts.append(sentence)
    vectors = np.asarray(embed(texts), dtype=np.float32)
    question_vectors = np.asarray(embed([q.text for q in questions]), dtype=np.float32)
    owner = np.asarray(ids)
    short = np.asarray([len(t) <= 20 for t in texts])
    found: dict[str, list[str]] = {}
    for q, vector in zip(questions, question_vectors, strict=True):
        scores = vectors @ vector
        scores[(owner == q.article) | short] = -2.0
        answers = vectors[[row_of[(q.article, i)] for i in q.answers]] if q.answers else None
        picked = []
        for row in np.argpartition(-scores, per_question * 4)[: per_question * 4]:
            if answers is not None and float(np.max(answers @ vectors[row])) >= near:
                continue
            picked.append((float(scores[row]), texts[row]))
        found[q.qid] = [t for _, t in sorted(picked, reverse=True)[:per_question]]
    return found


def source_options(command):
    """The options every recipe command shares: where its work goes, the training texts, the model's shape."""
    for option in reversed((
        click.option("--out", type=click.Path(path_type=Path), default=Path(".newsbot/training/reader"),
                     show_default=True),
        click.option("--bbc", type=click.Path(path_type=Path), default=Path("../shared/train/bbc"), show_default=True),
        click.option("--lee", type=click.Path(path_type=Path), default=Path(".newsbot/corpora/newsroom/text"),
                     show_default=True),
        click.option("--squad", type=click.Path(path_type=Path),
                     default=Path("../shared/qa/squad-v2-train-first10.json"), show_default=True),
        click.option("--layers", type=click.IntRange(1, 6), default=4, show_default=True),
        click.option("--epochs", type=float, default=1.0, show_default=True),
    )):
        command = option(command)
    return command

