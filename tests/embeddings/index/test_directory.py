import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from embeddings.errors import IndexCorruptError, IndexMismatchError, IndexMissingError
from embeddings.index.directory import CHUNK_VECTORS, MANIFEST, build_index, load_index
from embeddings.index.manifest import chunker_fields
from embeddings.ingest.corpus import read_corpus
from embeddings.records import ChunkerConfig

CHUNKER = ChunkerConfig()
SEEDS = Path(__file__).resolve().parents[3] / "seeds"


def build(seeds: Path, index_dir: Path, embedder, **kwargs):
    return build_index(read_corpus(seeds).articles, embedder, CHUNKER, index_dir, **kwargs)


def test_second_run_on_an_unchanged_corpus_embeds_nothing(seeds_copy, tmp_path, counting_embedder):
    index_dir = tmp_path / "index"
    first = build(seeds_copy, index_dir, counting_embedder)
    assert first.embedded == counting_embedder.embedded > 0
    counting_embedder.embedded = 0
    second = build(seeds_copy, index_dir, counting_embedder)
    assert second.up_to_date and counting_embedder.embedded == 0
    assert second.chunks == first.chunks


def test_a_changed_article_re_embeds_only_its_own_texts_and_equals_a_full_rebuild(
    seeds_copy, tmp_path, counting_embedder
):
    index_dir = tmp_path / "index"
    build(seeds_copy, index_dir, counting_embedder)
    path = seeds_copy / "004_347bbc5789c47b0a.txt"
    # Inside the last paragraph: a short line of its own after the article would be cleaned away as chrome.
    edited = path.read_text(encoding="utf-8").rstrip() + " The minister added a new closing remark on the matter.\n"
    path.write_text(edited, encoding="utf-8")
    counting_embedder.embedded = 0
    report = build(seeds_copy, index_dir, counting_embedder)
    assert report.changed == ("004_347bbc5789c47b0a",) and not report.added and not report.removed
    incremental = load_index(index_dir, counting_embedder.model_name, CHUNKER)
    own = [c for c in incremental.chunks if c.source_id == "004_347bbc5789c47b0a"]
    # Only the changed sentence is new: every other text of the article is reused by its text.
    assert 0 < counting_embedder.embedded <= len(own) + sum(len(c.sentences) for c in own)

    full_dir = tmp_path / "full"
    build(seeds_copy, full_dir, counting_embedder, rebuild=True)
    full = load_index(full_dir, counting_embedder.model_name, CHUNKER)
    assert [c.chunk_id for c in full.chunks] == [c.chunk_id for c in incremental.chunks]
    assert [c.text for c in full.chunks] == [c.text for c in incremental.chunks]
    np.testing.assert_allclose(full.chunk_vectors, incremental.chunk_vectors, atol=1e-5)
    np.testing.assert_allclose(full.sentence_vectors, incremental.sentence_vectors, atol=1e-5)


def test_added_and_removed_articles(seeds_copy, tmp_path, counting_embedder):
    index_dir = tmp_path / "index"
    build(seeds_copy, index_dir, counting_embedder)
    (seeds_copy / "001_886bf2f9db0ce233.txt").unlink()
    (seeds_copy / "new_article.txt").write_text("Crosetto spoke again today. He said little.", encoding="utf-8")
    counting_embedder.embedded = 0
    report = build(seeds_copy, index_dir, counting_embedder)
    assert report.added == ("new_article",) and report.removed == ("001_886bf2f9db0ce233",)
    assert counting_embedder.embedded == 2  # the new article's two sentences (its passage is their mean)
    index = load_index(index_dir, counting_embedder.model_name, CHUNKER)
    assert "001_886bf2f9db0ce233" not in index.articles and "new_article" in index.articles


def test_loading_refuses_another_model_or_chunker(service, settings):
    with pytest.raises(IndexMismatchError, match="model"):
        load_index(settings.index_dir, "some/other-model", settings.chunker)
    with pytest.raises(IndexMismatchError, match="chunker"):
        load_index(settings.index_dir, service.embedder.model_name, ChunkerConfig(max_chars=999))


def test_missing_index_says_how_to_build_it(tmp_path):
    with pytest.raises(IndexMissingError, match="newsbot index"):
        load_index(tmp_path / "nothing", "m", CHUNKER)


def test_a_truncated_file_fails_its_checksum_and_the_next_build_repairs_it(seeds_copy, tmp_path, counting_embedder):
    index_dir = tmp_path / "index"
    build(seeds_copy, index_dir, counting_embedder)
    target = index_dir / CHUNK_VECTORS
    data = target.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexCorruptError):
        load_index(index_dir, counting_embedder.model_name, CHUNKER)
    report = build(seeds_copy, index_dir, counting_embedder)
    assert not report.up_to_date
    load_index(index_dir, counting_embedder.model_name, CHUNKER)


def test_the_index_is_a_directory_with_a_manifest_switched_in_one_step(seeds_copy, tmp_path, counting_embedder):
    index_dir = tmp_path / "index"
    build(seeds_copy, index_dir, counting_embedder)
    manifest = json.loads((index_dir / MANIFEST).read_text())
    assert manifest["model"] == counting_embedder.model_name
    assert manifest["dimension"] == 384
    assert manifest["chunker"] == chunker_fields(CHUNKER)  # with the chrome model's checksum
    assert set(manifest["articles"]) == {p.stem for p in seeds_copy.glob("*.txt")}
    assert manifest["format_version"] >= 1 and manifest["corpus_hash"]
    assert index_dir.is_symlink()
    first_target = index_dir.resolve()
    (seeds_copy / "extra.txt").write_text("One more sentence about troops.", encoding="utf-8")
    build(seeds_copy, index_dir, counting_embedder)
    assert index_dir.resolve() != first_target
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".index-")]
    assert len(leftovers) <= 2  # the current generation and the previous one, for readers still on it


def test_a_build_never_touches_another_index_beside_it(seeds_copy, tmp_path, counting_embedder):
    build(seeds_copy, tmp_path / "index-old", counting_embedder)
    other = (tmp_path / "index-old").resolve()
    build(seeds_copy, tmp_path / "index", counting_embedder)
    (seeds_copy / "extra.txt").write_text("One more sentence about troops.", encoding="utf-8")
    build(seeds_copy, tmp_path / "index", counting_embedder)
    assert other.is_dir()
    load_index(tmp_path / "index-old", counting_embedder.model_name, CHUNKER)


def test_a_passage_vector_is_the_normalized_mean_of_its_sentences(service) -> None:
    from embeddings.index.vectors import passage_vectors

    index = service.index
    derived = passage_vectors(np.asarray(index.sentence_vectors), list(index.sentence_rows))
    assert np.allclose(derived, np.asarray(index.chunk_vectors), atol=1e-6)
    assert np.allclose(np.linalg.norm(derived, axis=1), 1.0, atol=1e-5)
    # A single-sentence passage is its sentence.
    single = next(i for i, rows in enumerate(index.sentence_rows) if len(rows) == 1)
    assert np.allclose(derived[single], index.sentence_vectors[index.sentence_rows[single][0]], atol=1e-6)


@pytest.mark.fast
def test_fast_an_added_article_is_the_only_one_embedded(tmp_path, fake_embedder) -> None:
    from tests.fakes import HashingEmbedder

    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS, seeds)
    counting = HashingEmbedder()
    calls: list[int] = []
    original = counting.embed
    counting.embed = lambda texts, progress=None: calls.append(len(texts)) or original(texts, progress)
    first = build_index(read_corpus(seeds).articles, counting, CHUNKER, tmp_path / "index")
    again = build_index(read_corpus(seeds).articles, counting, CHUNKER, tmp_path / "index")
    assert first.added and again.up_to_date and calls == [first.embedded]
    (seeds / "999_new.txt").write_text("A new article\n\nThe council said the bridge would open in May.\n",
                                       encoding="utf-8")
    added = build_index(read_corpus(seeds).articles, counting, CHUNKER, tmp_path / "index")
    assert added.added == ("999_new",) and calls[-1] == added.embedded == 1
    index = load_index(tmp_path / "index", counting.model_name, CHUNKER)
    assert "999_new" in index.articles
