"""`zhen eval`: which model serves best, measured on a parallel test set.

Each model translates the test set's Chinese sentences (one per line, as given: a test set
is already segmented) exactly as `zhen translate` would, glossary enforcement included but
without the translation memory, in a process of its own (so that its peak memory is its
own).  Scores come from sacrebleu (BLEU and chrF++, with their signatures); the term
success rate is the share of glossary occurrences in the source whose approved rendering
is in the English, as the WMT terminology task counts it.
"""

from __future__ import annotations

import multiprocessing
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from zhen.errors import InputError


@dataclass
class EvalResult:
    model: str
    kind: str
    sentences: int
    bleu: float
    chrf: float  # chrF++ (word n-grams of order 2)
    term_hits: int
    term_total: int
    seconds: float  # translation only: the model load is not counted
    peak_rss_mb: float
    bleu_signature: str = ""
    chrf_signature: str = ""
    hypotheses: tuple[str, ...] = ()
    term_success_wmt: float | None = None  # WMT25 terminology task (`wmt_term_success`)

    @property
    def term_success(self) -> float | None:
        return self.term_hits / self.term_total if self.term_total else None

    @property
    def sentences_per_second(self) -> float:
        return self.sentences / self.seconds if self.seconds else 0.0

    def summary(self) -> dict:
        """The figures as plain data (for --format json), hypotheses left out."""
        data = asdict(self)
        data.pop("hypotheses")
        data.update(term_success=self.term_success,
                    sentences_per_second=self.sentences_per_second)
        return data


def read_test_set(source: Path | None, reference: Path | None,
                  tmx: Path | None) -> tuple[list[str], list[str]]:
    """(Chinese sentences, English references): two line-aligned files, or a TMX."""
    if tmx is not None:
        from zhen.formats.tmx import read_tmx

        units, _ = read_tmx(Path(tmx))
        if not units:
            raise InputError(f"{tmx}: no zh→en pairs in it")
        return [u.zh for u in units], [u.en for u in units]
    if source is None or reference is None:
        raise InputError("give --source and --reference (line-aligned files), or --tmx")
    zh, en = (_lines(Path(p)) for p in (source, reference))
    if len(zh) != len(en):
        raise InputError(f"{source} has {len(zh)} lines but {reference} has {len(en)}: a test "
                         "set pairs line n of one with line n of the other")
    if not zh:
        raise InputError(f"{source}: empty test set")
    return zh, en


def _lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read it as UTF-8 text ({exc})") from None
    return [line.strip() for line in text.splitlines()]


def corpus_scores(hypotheses: list[str], references: list[str]) -> dict:
    """BLEU and chrF++ of the hypotheses, as sacrebleu computes them, with signatures."""
    from sacrebleu.metrics import BLEU, CHRF

    bleu, chrf = BLEU(), CHRF(word_order=2)
    b = bleu.corpus_score(hypotheses, [references])
    c = chrf.corpus_score(hypotheses, [references])
    return {"bleu": b.score, "chrf": c.score, "bleu_signature": str(bleu.get_signature()),
            "chrf_signature": str(chrf.get_signature())}


def _translate_in_child(args: dict) -> dict:
    """Run in a fresh process: translate the sentences with one model; report figures."""
    from zhen.batch.runner import BatchTranslator
    from zhen.document import Sentence
    from zhen.terminology.matcher import match_terms
    from zhen.terminology.renderings import allocate_renderings

    batch = BatchTranslator(Path(args["glossary"]), args["model"], args["options"])
    sentences = [Sentence(id=f"s{n}", zh=zh, terms=match_terms(batch.matcher, zh))
                 for n, zh in enumerate(args["sources"], start=1)]
    batch.decoder.start()  # load the model (or reach its server) before the clock starts
    start = time.perf_counter()
    batch.translate_sentences(sentences)
    seconds = time.perf_counter() - start
    batch.decoder.close()
    hits = total = 0
    for s in sentences:
        spans = allocate_renderings(s.en or "", s.terms, batch.terms)
        total += len(spans)
        hits += sum(1 for span in spans if span is not None)
    return {"hypotheses": [s.en or "" for s in sentences], "seconds": seconds,
            "term_hits": hits, "term_total": total, "kind": batch.model.kind,
            "term_success_wmt": wmt_term_success(sentences, batch.terms),
            "name": batch.model.name, "peak_rss_mb": _peak_rss_mb()}


def wmt_term_success(sentences, terms) -> float | None:
    """Term success as the WMT25 terminology task defines it: per term of a sentence,
    min(occurrences of an approved rendering in the English / occurrences of the source
    term, 1), averaged over every (sentence, term); None without terms."""
    from zhen.terminology.renderings import find_renderings

    scores = []
    for s in sentences:
        counts: dict[str, int] = {}
        for occ in s.terms:
            counts[occ.term_id] = counts.get(occ.term_id, 0) + 1
        for term_id, n in counts.items():
            found = len(find_renderings(s.en or "", terms[term_id].rendering))
            scores.append(min(found / n, 1.0))
    return sum(scores) / len(scores) if scores else None


def _peak_rss_mb() -> float:
    """This process's own peak resident memory (VmHWM)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def evaluate(models: list[str], sources: list[str], references: list[str], glossary: Path,
             options=None) -> list[EvalResult]:
    """Translate the test set with each model (each in its own process) and score it."""
    context = multiprocessing.get_context("spawn")
    results = []
    for model in models:
        with context.Pool(1) as pool:  # a ZhenError in the child is raised here
            out = pool.apply(_translate_in_child, ({
                "model": model, "sources": sources, "glossary": str(glossary),
                "options": options},))
        scores = corpus_scores(out["hypotheses"], references)
        results.append(EvalResult(
            model=out["name"], kind=out["kind"], sentences=len(sources),
            bleu=scores["bleu"], chrf=scores["chrf"], term_hits=out["term_hits"],
            term_total=out["term_total"], term_success_wmt=out["term_success_wmt"],
            seconds=out["seconds"],
            peak_rss_mb=out["peak_rss_mb"], bleu_signature=scores["bleu_signature"],
            chrf_signature=scores["chrf_signature"], hypotheses=tuple(out["hypotheses"])))
    return results


def format_table(results: list[EvalResult]) -> str:
    """One row per model, aligned, with the signatures below."""
    head = f"{'model':40} {'kind':8} {'BLEU':>6} {'chrF++':>7} {'terms':>7} {'WMT25':>7} " \
           f"{'sent/s':>8} {'RSS MB':>7}"
    rows = [head, "-" * len(head)]
    for r in results:
        terms = f"{100 * r.term_success:.1f}%" if r.term_success is not None else "-"
        wmt = f"{100 * r.term_success_wmt:.1f}%" if r.term_success_wmt is not None else "-"
        rows.append(f"{r.model[:40]:40} {r.kind:8} {r.bleu:6.2f} {r.chrf:7.2f} {terms:>7} "
                    f"{wmt:>7} {r.sentences_per_second:8.1f} {r.peak_rss_mb:7.0f}")
    if results:
        rows += ["", f"BLEU: {results[0].bleu_signature}",
                 f"chrF++: {results[0].chrf_signature}",
                 "terms: share of glossary occurrences whose approved rendering is in the "
                 "English",
                 "WMT25: term success as the WMT25 terminology task counts it: per term of a "
                 "sentence, min(approved renderings / source occurrences, 1), averaged"]
    return "\n".join(rows)


def write_hypotheses(results: list[EvalResult], out_dir: Path) -> list[Path]:
    """OUT_DIR/<model>.en: each model's English, one line per test sentence."""
    from zhen.exports.common import one_line
    from zhen.writer import write_atomic

    written = []
    for r in results:
        # a served model's id may be a path or hold slashes (tencent/HY-MT1.5-1.8B)
        name = re.sub(r"[^\w.+-]+", "_", r.model).strip("._") or "model"
        path = Path(out_dir) / f"{name}.en"
        write_atomic(path, "".join(one_line(h) + "\n" for h in r.hypotheses).encode("utf-8"))
        written.append(path)
    return written
