"""The ONNX encoder (issue 13, items 4, 5 and 10): the model setting means the same on every backend, an export
is only ever used for the model it was made from, an altered encoder is refused (and repaired by `newsbot index`)
rather than run, and onnx-int8 never writes into a read-only index."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.answer.service import NewsService, make_embedder
from bot.cli.app import cli
from bot.settings import Settings
from embeddings.checksums import file_sha256
from embeddings.encoders import onnx_runtime
from embeddings.encoders.names import DEFAULT_MODEL
from embeddings.encoders.onnx_runtime import ONNX_MODEL, ONNX_MODEL_FUSED, OnnxQueryEncoder
from embeddings.errors import IndexCorruptError, IndexMismatchError, ModelLoadError
from embeddings.index.directory import MANIFEST
from tests.robustness.conftest import read_only, tiny_seeds, tree

QUESTION = "What did the mayor say about the harbour repairs?"
OTHER_MODEL = "sentence-transformers/paraphrase-MiniLM-L3-v2"


@pytest.fixture()
def tiny(tmp_path: Path, real_embedder) -> Settings:
    """Settings (the default onnx backend) over an index of three short articles, with its ONNX encoder."""
    settings = Settings(seeds_dir=tiny_seeds(tmp_path / "seeds", 3), index_dir=tmp_path / "index",
                        cooldown_seconds=0.0)
    NewsService(settings, real_embedder).reindex()  # links the session's export into the index
    assert (settings.index_dir / "onnx" / ONNX_MODEL_FUSED).is_file()
    return settings


def answer_key(service: NewsService) -> tuple:
    answer = service.ask(QUESTION)
    return answer.answered, answer.answer, tuple((c.source_id, c.quote) for c in answer.citations)


def replace_file(path: Path, data: bytes) -> None:
    """Give a path new content as a new file: its old inode is a hard link shared with other exports."""
    path.unlink()
    path.write_bytes(data)


# --------------------------------------------------------------------------- item 4: the model setting


def test_the_onnx_backend_refuses_an_index_of_another_model_as_torch_does(tiny: Settings, real_embedder) -> None:
    for model in ("/nonexistent", OTHER_MODEL):
        for backend in ("onnx", "torch"):
            settings = tiny.with_overrides(model=model, backend=backend)
            embedder = make_embedder(settings)
            assert embedder.model_name == model  # the configured model, never the one an export holds
            with pytest.raises(IndexMismatchError, match=rf"built with model='{DEFAULT_MODEL}', settings ask for "
                                                          rf"'{model}': run `newsbot index`"):
                NewsService(settings, embedder).load()


def test_index_with_a_model_that_does_not_exist_fails_in_one_line_and_keeps_the_index(tiny: Settings) -> None:
    manifest = (tiny.index_dir / MANIFEST).read_text()
    for backend, why in (("onnx", "cannot export '/nonexistent'"), ("torch", "cannot load model '/nonexistent'")):
        settings = tiny.with_overrides(model="/nonexistent", backend=backend)
        result = CliRunner().invoke(cli, ["index", "--rebuild", "--quiet"],
                                    obj={"settings": settings, "service": NewsService(settings)})
        assert result.exit_code == 1, result.output
        assert result.stderr.startswith(f"newsbot: error: {why}") and result.stderr.count("\n") == 1, result.stderr
        assert (tiny.index_dir / MANIFEST).read_text() == manifest


def test_an_export_of_another_model_is_never_run_for_the_configured_one(tiny: Settings) -> None:
    encoder = OnnxQueryEncoder(tiny.index_dir / "onnx", model_name=OTHER_MODEL)
    with pytest.raises(ModelLoadError, match=rf"is of '{DEFAULT_MODEL}', not of '{OTHER_MODEL}'"):
        encoder.embed(["troops"])


# --------------------------------------------------------------------------- item 5: an altered encoder


def test_an_altered_encoder_is_refused_never_run_and_repaired_by_index(tiny: Settings, real_embedder) -> None:
    good = answer_key(NewsService(tiny, real_embedder))
    generation = tiny.index_dir.resolve()
    # The export a first build leaves beside the index (hard links: no copy of 180 MB).
    beside = tiny.index_dir.parent / ".index.encoder"
    shutil.copytree(generation / "onnx", beside, copy_function=os.link)
    fused = generation / "onnx" / ONNX_MODEL_FUSED
    replace_file(fused, (generation / "onnx" / ONNX_MODEL).read_bytes())  # still a valid model: other vectors

    embedder = make_embedder(tiny)
    with pytest.raises(IndexCorruptError, match=r"onnx/model_fused.onnx is missing or fails its checksum: run "
                                                r"`newsbot index --rebuild`"):
        NewsService(tiny, embedder).load()
    asked = CliRunner().invoke(cli, ["ask", QUESTION], obj={"settings": tiny, "service": NewsService(tiny, embedder)})
    assert asked.exit_code == 1 and asked.stderr.count("\n") == 1 and "fails its checksum" in asked.stderr
    # Nothing runs the altered file, whoever builds the encoder over it.
    with pytest.raises(ModelLoadError, match="fails its checksum"):
        OnnxQueryEncoder(generation / "onnx").embed(["troops"])

    indexed = CliRunner().invoke(cli, ["index"], obj={"settings": tiny, "service": NewsService(tiny, embedder)})
    assert indexed.exit_code == 0, indexed.output
    assert "up to date" not in indexed.output and indexed.stdout.splitlines()[-1].startswith("index written")
    assert embedder.encoder_dir == beside  # the new articles' vectors came from the intact export
    manifest = json.loads((tiny.index_dir / MANIFEST).read_text())
    assert file_sha256(tiny.index_dir / "onnx" / ONNX_MODEL_FUSED) == manifest["encoder"]["files"][ONNX_MODEL_FUSED]
    assert answer_key(NewsService(tiny, make_embedder(tiny))) == good


# --------------------------------------------------------------------------- item 10: onnx-int8, read-only


@pytest.mark.slow
def test_onnx_int8_on_a_read_only_index_answers_without_writing_into_it(tiny: Settings,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(onnx_runtime, "_SESSIONS", {})  # quantize now, not reuse another test's session
    int8 = tiny.with_overrides(backend="onnx-int8")
    parent, generation = tiny.index_dir.parent, tiny.index_dir.resolve()
    before = tree(parent)
    with read_only(parent, generation, generation / "onnx"):
        answer = NewsService(int8, make_embedder(int8)).ask(QUESTION)
        assert answer.answered and answer.citations
        assert tree(parent) == before

    # Writable: the int8 copy is kept beside the index, keyed by the model it was made from; never inside it.
    monkeypatch.setattr(onnx_runtime, "_SESSIONS", {})
    assert NewsService(int8, make_embedder(int8)).ask(QUESTION).answered
    assert not (generation / "onnx" / "model_int8.onnx").exists()
    assert [p.name for p in (parent / ".index.encoder-int8").glob("*/*")] == ["model_int8.onnx"]
