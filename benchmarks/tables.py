"""Render a benchmark report as a table."""

from __future__ import annotations

from benchmarks.common import TOKENS_PER_CHUNK


def render(report: dict) -> str:
    """Render the figures as a plain-text table."""
    lines = [f"newsbot bench  ({report['machine']['cpus']} cpus, load {report['machine']['load_before']}, "
             f"{report['chunks']} passages, {report['questions']} questions)", ""]

    def row(label: str, *cells: object) -> None:
        lines.append(f"  {label:<44}" + "".join(f"{c!s:>20}" for c in cells))

    lines.append("cold start (spawn -> first answer, median of 3)        seconds         peak MB")
    for name, figures in report["cold_start"].items():
        row(name + (f" (imports {', '.join(figures['heavy_imports'])})" if figures.get("heavy_imports") else ""),
            figures["first_answer_s"], figures["peak_rss_mb"])
    lines.append("")
    lines.append("warm latency (ms)                                  embed p50       search p50/p95     ask p50/p95")
    for name, figures in report["warm"].items():
        row(name, figures["embed_query"]["p50_ms"],
            f"{figures['search']['p50_ms']}/{figures['search']['p95_ms']}",
            f"{figures['ask']['p50_ms']}/{figures['ask']['p95_ms']}")
    lines.append("")
    lines.append(f"ingestion (~{TOKENS_PER_CHUNK}-token passages)   passages/s median/best      cosine min  "
                 "dense top5 same  hybrid top5 same")
    for name, figures in report["backends"].items():
        row(name, f"{figures['passages_per_s']}/{figures.get('passages_per_s_best', '-')}", figures["cosine_min"],
            figures["dense_top5"]["identical"], figures["hybrid_top5"]["identical"])
    lines.append(f"  default backend: {report['default_backend']}")
    lines.append("")
    lines.append("index build (seeds, model loaded)                     seconds")
    for name, seconds in report["index_build"].items():
        if isinstance(seconds, dict):
            for label, rate in seconds.items():
                row(f"{name}: {label}", rate)
        else:
            row(name, seconds)
    if report.get("quality"):
        lines.append("")
        lines.append("quality on the questions                              hit@5          mrr@10   answer acc")
        for name, figures in report["quality"].items():
            row(name, figures["hit@5"], figures["mrr@10"], figures["answer_accuracy"])
    if report.get("scale"):
        lines.append("")
        lines.append("ANN at scale (seed-derived vectors)      index           build s      recall@10  "
                     "search p50 ms     peak MB")
        for figures in report["scale"]:
            spec = figures["spec"]
            name = spec["factory"] + (f" ef{spec['ef_search']}" if spec.get("ef_search") else "") + (
                f" nprobe{spec['nprobe']}" if spec.get("nprobe") else "")
            lines.append(f"  {figures['size']:>10,} {name:>30}{figures['build_s']:>14}{figures['recall@10']:>15}"
                         f"{figures['search']['p50_ms']:>16}"
                         f"{figures['peak_rss_mb']:>12}")
    if report.get("index_scale"):
        lines.append("")
        lines.append("whole index at scale (synthetic)   write s   disk MB   load s   peak MB   search p50/p95 ms"
                     "   ask p50 ms")
        for figures in report["index_scale"]:
            write, load = figures["write"], figures["load"]
            lines.append(f"  {figures['size']:>10,}{write['write_s']:>18}{write['disk_mb']:>10}"
                         f"{load['load_s']:>9}{load['peak_rss_mb']:>10}"
                         f"{load['search']['p50_ms']:>11}/{load['search']['p95_ms']:<8}{load['ask']['p50_ms']:>11}")
    if report.get("peer"):
        peer = report["peer"]
        lines.append("")
        lines.append("peer: LangChain FAISS.from_texts + HuggingFaceEmbeddings, same model and chunks")
        row("peer build s / search p50 ms", peer["build_s"], peer["search"]["p50_ms"])
        for key, value in report.get("ratios", {}).items():
            row(f"newsbot/peer {key}", value)
    lines.append("")
    lines.append(f"bench process peak RSS: {report['bench_peak_rss_mb']} MB; total {report['total_s']} s")
    return "\n".join(lines)
