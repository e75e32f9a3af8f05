"""Adding files to the seeds directory (`newsbot add`): each is read first, as the seeds reader will read it, and
copied in only when it holds an article; the copy replaces its destination in one rename, so a reader never sees
half a file, and a copy killed half-way is removed by the next `add`."""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from embeddings.errors import CorpusError
from embeddings.ingest.corpus import READERS, SUFFIXES, check_seeds_dir, decode_seed, name_problem, read_metadata
from embeddings.ingest.files import Skipped, read_source_file
from embeddings.ingest.plaintext import parse_article
from embeddings.ingest.readers.common import Extracted, ReadLimits

# A copy under way: hidden, with a suffix no reader reads, and locked by the process writing it.
_PART_PREFIX, _PART_SUFFIX = ".add-", ".part"


@dataclass(frozen=True)
class Added:
    """What `add` did: the files copied into the seeds (with how many articles each holds) and the warnings."""

    copied: tuple[tuple[str, int], ...] = ()
    unchanged: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    # Each copied file's articles as (source id, content hash): what the index must hold once it is built.
    articles: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict, repr=False)


def read_bytes(name: str, raw: bytes, limits: ReadLimits,
               metadata: Mapping[str, Mapping[str, object]] | None = None) -> Extracted:
    """Read a file's bytes as the seeds reader would (a `.txt` article, a page, a feed or an export)."""
    suffix = Path(name).suffix.lower()
    if suffix != ".txt":
        return READERS[suffix](name, raw, limits)
    if problem := name_problem(name):
        return Extracted(warnings=(problem,))
    if len(raw) > limits.max_article_bytes:
        return Extracted(warnings=(f"{name}: {len(raw):,} bytes, over the {limits.max_article_bytes:,} limit "
                                 "(NEWSBOT_MAX_ARTICLE_BYTES), skipped",))
    text, problem = decode_seed(Path(name), raw)
    if text is None:
        return Extracted(warnings=(problem or f"{name}: skipped",))
    source_id = Path(name).stem
    article = parse_article(source_id, text, (metadata or {}).get(source_id))
    if not article.body:
        return Extracted(warnings=(f"{name}: no article text after cleaning, skipped",))
    return Extracted((article,))


def add_files(seeds_dir: Path, paths: Sequence[Path], limits: ReadLimits) -> Added:
    """Copy the files that hold at least one article into the seeds directory; say why each other one is not."""
    check_seeds_dir(seeds_dir)
    clean_partial_copies(seeds_dir)
    metadata = read_metadata(seeds_dir) if seeds_dir.is_dir() else {}
    copied: list[tuple[str, int]] = []
    unchanged: list[str] = []
    warnings: list[str] = []
    articles: dict[str, tuple[tuple[str, str], ...]] = {}
    given: dict[str, tuple[Path, bytes]] = {}
    limit = max(limits.max_page_bytes, limits.max_feed_bytes, limits.max_article_bytes)
    for path in paths:
        name = path.name
        # `*.txt` seeds are matched case-sensitively, the other readers' suffixes in any case.
        if path.suffix != ".txt" and path.suffix.lower() not in READERS:
            warnings.append(f"{name}: not a file newsbot reads ({', '.join(SUFFIXES)}), not added")
            continue
        if not os.path.lexists(path):
            warnings.append(f"{name}: no such file, not added")
            continue
        raw = read_source_file(path, None, limit, setting="")
        if isinstance(raw, Skipped):
            warnings.append(f"{raw.name}: {raw.why}, not added")
            continue
        if name in given:
            # One name in the seeds holds one file: the second would silently replace the first.
            first, first_raw = given[name]
            why = "the same file as" if raw == first_raw else "another file of the same name as"
            warnings.append(f"{path}: {why} {first}, given before it, not added" +
                            ("" if raw == first_raw else " (rename one to add both)"))
            continue
        given[name] = (path, raw)
        reading = read_bytes(name, raw, limits, metadata)
        warnings.extend(reading.warnings)
        if not reading.articles:
            warnings.append(f"{name}: no article in it, not added")
            continue
        target = seeds_dir / name
        if target.is_file() and target.read_bytes() == raw:
            unchanged.append(name)
            continue
        write_atomically(seeds_dir, name, raw)
        copied.append((name, len(reading.articles)))
        articles[name] = tuple((a.source_id, a.content_hash) for a in reading.articles)
    return Added(tuple(copied), tuple(unchanged), tuple(warnings), articles)


def held(added: Added, indexed: Mapping[str, str]) -> Added:
    """Return what add did as the index holds it: each copied file counted by the articles the index holds as read
    from it, with a warning for those it does not (their id taken by another file, say: the build's warnings say)."""
    copied: list[tuple[str, int]] = []
    warnings = list(added.warnings)
    for name, count in added.copied:
        articles = added.articles.get(name, ())
        kept = sum(1 for source_id, content_hash in articles if indexed.get(source_id) == content_hash)
        if kept < len(articles):
            missing = [source_id for source_id, content_hash in articles if indexed.get(source_id) != content_hash]
            shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            warnings.append(f"{name}: {len(missing)} of its {len(articles)} articles are not in the index ({shown}): "
                            "see the warnings above")
        copied.append((name, kept if articles else count))
    return replace(added, copied=tuple(copied), warnings=tuple(warnings))


def clean_partial_copies(seeds_dir: Path) -> None:
    """Remove the copies a killed `add` left in the seeds: those no running process holds locked."""
    try:
        leftovers = [p for p in seeds_dir.iterdir()
                     if p.name.startswith(_PART_PREFIX) and p.name.endswith(_PART_SUFFIX)]
    except OSError:
        return
    for path in leftovers:
        with contextlib.suppress(OSError):
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # BlockingIOError: a copy still being written
                path.unlink()
            finally:
                os.close(fd)


def write_atomically(seeds_dir: Path, name: str, raw: bytes) -> None:
    """Write a file into the seeds through a locked temporary file (a suffix no reader reads) and one rename."""
    try:
        seeds_dir.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=seeds_dir, prefix=_PART_PREFIX, suffix=_PART_SUFFIX)
        try:
            with os.fdopen(handle, "wb") as out:
                fcntl.flock(out.fileno(), fcntl.LOCK_EX)  # held until closed: the next add leaves this copy alone
                out.write(raw)
                out.flush()
                os.fsync(out.fileno())
                os.replace(temporary, seeds_dir / name)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise CorpusError(f"cannot write {name} into {seeds_dir}: {exc.strerror}") from exc
