"""Entry point of the benchmark's subprocess runs: `python -m benchmarks.child MODE ...` prints one JSON line."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks.peer import peer_run
from benchmarks.scale import index_scale_load, index_scale_write, scale_run


def _child_main(argv: Sequence[str]) -> None:
    """Entry point of the subprocess runs: `python -m bot.bench scale|peer ...` prints one JSON line."""
    mode, *rest = argv
    if mode == "scale":
        size, base, queries, real, kind = rest
        result = scale_run(int(size), Path(base), Path(queries), int(real), kind)
    elif mode == "peer":
        model, chunks, questions, rounds = rest
        result = peer_run(model, Path(chunks), Path(questions), int(rounds))
    elif mode == "index-write":
        size, base, seeds, index_dir, model = rest
        result = index_scale_write(int(size), Path(base), Path(seeds), Path(index_dir), model)
    elif mode == "index-load":
        index_dir, questions, onnx_dir, rounds = rest
        result = index_scale_load(Path(index_dir), Path(questions), Path(onnx_dir), int(rounds))
    else:
        raise SystemExit(f"unknown bench child mode {mode!r}")
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    _child_main(sys.argv[1:])
