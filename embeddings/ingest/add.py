"""Adding files to the seeds directory (`newsbot add`): each is read first, and copied in only when it holds an
article; the copy replaces its destination in one rename, so a reader never sees half a file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from embeddings.errors import CorpusError
from embeddings.ingest.corpus import READERS, SUFFIXES, check_seeds_dir, decode_seed, parse_article
from embeddings.ingest.readers.common import Extracted, ReadLimits


@dataclass(frozen=True)
class Added:
    """What `add` did: the files copied into the seeds (with how many articles each holds) and the warnings."""

    copied: tuple[tuple[str, int], ...] = ()
    unchanged: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def read_bytes(name: str, raw: bytes, limits: ReadLimits) -> Extracted:
    """Read a file's bytes as the seeds reader would (a `.txt` article, a page, a feed or an export)."""
    suffix = Path(name).suffix.lower()
    if suffix != ".txt":
        return READERS[suffix](name, raw, limits)
    if len(raw) > limits.max_article_bytes:
        return Extracted(warnings=(f"{name}: {len(raw):,} bytes, over the {limits.max_article_bytes:,} limit "
                                 "(NEWSBOT_MAX_ARTICLE_BYTES), skipped",))
    text, problem = decode_seed(Path(name), raw)
    if text is None:
        return Extracted(warnings=(problem or f"{name}: skipped",))
    article = parse_article(Path(name).stem, text)
    if not article.body:
        return Extracted(warnings=(f"{name}: no article text after cleaning, skipped",))
    return Extracted((article,))


def add_files(seeds_dir: Path, paths: Sequence[Path], limits: ReadLimits) -> Added:
    """Copy the files that hold at least one article into the seeds directory; say why each other one is not."""
    check_seeds_dir(seeds_dir)
    copied: list[tuple[str, int]] = []
    unchanged: list[str] = []
    warnings: list[str] = []
    for path in paths:
        name = path.name
        # `*.txt` seeds are matched case-sensitively, the other readers' suffixes in any case.
        if path.suffix != ".txt" and path.suffix.lower() not in READERS:
            warnings.append(f"{name}: not a file newsbot reads ({', '.join(SUFFIXES)}), not added")
            continue
        limit = max(limits.max_page_bytes, limits.max_feed_bytes, limits.max_article_bytes)
        try:
            if not path.is_file():
                warnings.append(f"{name}: no such file, not added")
                continue
            if path.stat().st_size > limit:
                warnings.append(f"{name}: {path.stat().st_size:,} bytes, too large, not added")
                continue
            raw = path.read_bytes()
        except OSError as exc:
            warnings.append(f"{name}: cannot be read ({exc.strerror}), not added")
            continue
        reading = read_bytes(name, raw, limits)
        warnings.extend(reading.warnings)
        if not reading.articles:
            warnings.append(f"{name}: no article in it, not added")
            continue
        target = seeds_dir / name
        if target.is_file() and target.read_bytes() == raw:
            unchanged.append(name)
            continue
        _write_atomically(seeds_dir, name, raw)
        copied.append((name, len(reading.articles)))
    return Added(tuple(copied), tuple(unchanged), tuple(warnings))


def _write_atomically(seeds_dir: Path, name: str, raw: bytes) -> None:
    """Write a file into the seeds through a temporary file (a suffix no reader reads) and one rename."""
    try:
        seeds_dir.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=seeds_dir, prefix=".add-", suffix=".part")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(raw)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, seeds_dir / name)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise CorpusError(f"cannot write {name} into {seeds_dir}: {exc.strerror}") from exc
