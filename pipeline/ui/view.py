"""A self-contained bilingual HTML page for reading a zhen TEI file.

`render_html` is pure: Document in, HTML5 text out.  The page has no external resources:
inline CSS (screen and print), a few lines of optional JS that light up a term's partner
on the other side, and every piece of document text HTML-escaped.  `write_view` is the
I/O edge: it reads the TEI back (so human corrections show) and writes the page atomically.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path

from zhen.document import Document, Sentence, Term, TermMatch, TermStatus
from zhen.memory.base import HumanTranslation
from zhen.memory.fuzzy import Suggestion, suggest_translations
from zhen.qa.checks import Finding, severity_rank
from zhen.qa.run import Counts, check_document, of_document
from zhen.tei.names import STATUS_DESCRIPTIONS, SYNTHETIC_WARNING
from zhen.tei.read import read_tei
from zhen.writer import write_atomic

NO_STATUS = "none"  # class suffix for an occurrence not yet given a status
STATUS_KEYS = [s.value for s in TermStatus]
STATUS_LABELS = {
    TermStatus.MODEL.value: "model",
    TermStatus.ENFORCED.value: "enforced",
    TermStatus.MISSED.value: "missed",
    TermStatus.EDITED.value: "edited",
    NO_STATUS: "no status",
}

# Background and edge colour per status; distinct in hue and in edge style (for print).
STATUS_COLOURS = {
    TermStatus.MODEL.value: ("#d5f0d5", "#2e7d32"),
    TermStatus.ENFORCED.value: ("#d6e6ff", "#1d4fa3"),
    TermStatus.MISSED.value: ("#ffe0e0", "#c62828"),
    TermStatus.EDITED.value: ("#fff0c2", "#a86b00"),
    NO_STATUS: ("#eeeeee", "#777777"),
}
BANNER_COLOUR = "#b71c1c"  # background of the synthetic-model warning

_VARS = " ".join(f"--{k}: {bg}; --{k}-edge: {edge};" for k, (bg, edge) in STATUS_COLOURS.items())
CSS = (":root { --qa-error: #c62828; --qa-warning: #b26a00; --ink: #1b1b1b; --muted: #5b5b5b; --rule: #d4d4d4; --para: #7a7a7a; "
       f"--banner: {BANNER_COLOUR}; {_VARS} }}\n") + """
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1400px; padding: 1rem 1.5rem 3rem; color: var(--ink);
  background: #fff; font: 15px/1.6 system-ui, -apple-system, "Segoe UI", "Noto Sans",
  "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif; }
h1 { font-size: 1.5rem; margin: .2rem 0 .6rem; }
h2 { font-size: 1.05rem; margin: 1rem 0 .4rem; }
.banner { border: 3px solid var(--missed-edge); background: var(--banner); color: #fff;
  padding: .6rem .9rem; margin: .4rem 0 .8rem; font-weight: 700; }
.prov { display: grid; grid-template-columns: max-content 1fr; gap: .1rem 1rem;
  margin: 0; font-size: .85rem; }
.prov dt { color: var(--muted); }
.prov dd { margin: 0; }
.hash { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .8rem;
  word-break: break-all; }
.meta { display: flex; flex-wrap: wrap; gap: 0 2.5rem; align-items: flex-start; }
table { border-collapse: collapse; }
.summary td, .summary th, .glossary td, .glossary th { border: 1px solid var(--rule);
  padding: .15rem .5rem; font-size: .85rem; text-align: left; vertical-align: top; }
.summary td.n, .glossary td.n { text-align: right; font-variant-numeric: tabular-nums; }
.legend { list-style: none; padding: 0; margin: 0; font-size: .85rem; max-width: 60rem; }
.legend li { margin: .25rem 0; }
.legend li > span { margin-right: .4rem; }
details { margin: .5rem 0; }
summary { cursor: pointer; font-weight: 600; }
table.aligned { width: 100%; table-layout: fixed; margin-top: 1rem; }
.aligned col.c-id { width: 5.5rem; }
.aligned thead th { text-align: left; border-bottom: 2px solid var(--ink); padding: .3rem .6rem;
  position: sticky; top: 0; background: #fff; }
.aligned td { vertical-align: top; padding: .35rem .6rem; border-bottom: 1px solid var(--rule); }
.aligned tbody.para tr:first-child td { border-top: 3px solid var(--para); }
.aligned tbody.para tr:first-child td.sid::before { content: attr(data-para); display: block;
  font-weight: 700; color: var(--para); }
.aligned td.sid { font-size: .72rem; color: var(--muted); white-space: nowrap; }
.aligned td.sid a { color: inherit; text-decoration: none; }
.aligned td.zh { font-size: 1.05rem; }
.aligned tr.pair:hover td { background: #fafafa; }
.aligned tr.pair:target td { background: #fffbe6; }
.aligned tr.human td.en { border-left: 3px solid #2e7d32; }
.origin { font-size: .7rem; color: #2e7d32; font-weight: 600; margin-left: .4rem; }
.suggest { font-size: .8rem; color: var(--muted); margin-top: .3rem; }
.suggest li { list-style: none; }
.untranslated { color: var(--muted); font-style: italic; }
.aligned tbody.head td.zh, .aligned tbody.head td.en { font-weight: 700; }
.title-en { font-size: 1.1rem; margin: 0 0 .6rem; color: var(--muted); }
.aligned tr[data-qa] td.en { border-left: 3px solid var(--qa-warning); }
.aligned tr[data-severity="error"] td.en { border-left-color: var(--qa-error); }
ul.qa { margin: .3rem 0 0; padding: 0; font-size: .8rem; }
ul.qa li { list-style: none; }
ul.qa .sev { font-weight: 700; text-transform: uppercase; font-size: .68rem; margin-right: .3rem; }
ul.qa .sev-error .sev { color: var(--qa-error); }
ul.qa .sev-warning .sev { color: var(--qa-warning); }
ul.qa .sev-info .sev { color: var(--muted); }
.qa-filter { font-size: .85rem; margin: .4rem 0; }
body:has(#only-flagged:checked) tr.pair:not([data-qa]) { display: none; }
body:has(#only-flagged:checked) tbody.para:not(:has(tr[data-qa])) { display: none; }
.st-model, .st-enforced, .st-missed, .st-edited, .st-none { color: inherit;
  padding: 0 .1em; border-radius: 2px; }
.st-model { background: var(--model); border-bottom: 2px solid var(--model-edge); }
.st-enforced { background: var(--enforced); border-bottom: 3px double var(--enforced-edge); }
.st-missed { background: var(--missed); border: 2px dashed var(--missed-edge); }
.st-edited { background: var(--edited); border-bottom: 2px dotted var(--edited-edge); }
.st-none { background: var(--none); border-bottom: 1px solid var(--none-edge); }
mark.term { cursor: help; }
mark.term:hover, mark.term.linked { box-shadow: 0 0 0 2px var(--ink); }
@media print {
  @page { margin: 12mm; }
  body { max-width: none; padding: 0; font-size: 10pt; }
  .banner { background: #fff; color: #000; border: 3px solid #000; }
  .aligned thead th { position: static; }
  .aligned thead { display: table-header-group; }
  .aligned tr { break-inside: avoid; page-break-inside: avoid; }
  .aligned tr.pair:hover td, .aligned tr.pair:target td { background: none; }
  mark.term:hover, mark.term.linked { box-shadow: none; }
  .st-model, .st-enforced, .st-missed, .st-edited, .st-none {
    -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .aligned td.sid a { text-decoration: none; }
}
""".strip()

# Hovering a term lights up its partner on the other side (CSS alone cannot pair them by
# attribute value).  The last line marks the page as scripted-and-ready for tests.
JS = """
(function () {
  var marks = Array.prototype.slice.call(document.querySelectorAll("mark[data-pair]"));
  function toggle(ev, on) {
    var m = ev.target.closest ? ev.target.closest("mark[data-pair]") : null;
    if (!m) { return; }
    marks.forEach(function (o) {
      if (o.getAttribute("data-pair") === m.getAttribute("data-pair")) {
        o.classList.toggle("linked", on);
      }
    });
  }
  document.addEventListener("mouseover", function (ev) { toggle(ev, true); });
  document.addEventListener("mouseout", function (ev) { toggle(ev, false); });
  document.body.setAttribute("data-ready", String(marks.length));
})();
""".strip()


def _e(text: object) -> str:
    """HTML-escape text for element content and double-quoted attributes."""
    return escape(str(text), quote=True)


def status_key(occ: TermMatch) -> str:
    """The class suffix for an occurrence's status ("model", …, or "none")."""
    return occ.status.value if occ.status is not None else NO_STATUS


def status_counts(doc: Document) -> dict[str, int]:
    """Term occurrences per status, every TermStatus present (zero if unused)."""
    counts = Counter(status_key(occ) for s in doc.sentences() for occ in s.terms)
    out = {key: counts.get(key, 0) for key in STATUS_KEYS}
    if counts.get(NO_STATUS):
        out[NO_STATUS] = counts[NO_STATUS]
    return out


def term_title(term: Term | None, term_id: str, status: str) -> str:
    """Hover text for a term occurrence: approved rendering, status, note."""
    if term is None:
        return f"glossary term {term_id} (not in this document's glossary)\nstatus: {status}"
    lines = [f"{term.zh} → {term.rendering}", f"approved rendering: {term.rendering}",
             f"status: {STATUS_LABELS.get(status, status)}"]
    if term.note:
        lines.append(f"note: {term.note}")
    return "\n".join(lines)


def mark_spans(text: str, spans: list[tuple[int, int, str]]) -> str:
    """Escaped `text` with each (start, end, open_tag) span wrapped in that tag and `</mark>`.

    Spans that are empty, out of range, or overlap an earlier span are left unmarked,
    so the text itself always comes through whole.
    """
    out, pos = [], 0
    for start, end, open_tag in sorted(spans, key=lambda x: (x[0], -x[1])):
        if not (pos <= start < end <= len(text)):
            continue
        out += [_e(text[pos:start]), open_tag, _e(text[start:end]), "</mark>"]
        pos = end
    out.append(_e(text[pos:]))
    return "".join(out)


def _sentence_cells(s: Sentence, terms: dict[str, Term]) -> tuple[str, str]:
    """The (Chinese, English) cell contents of one sentence pair."""
    zh_spans, en_spans = [], []
    for n, occ in enumerate(s.terms, start=1):
        key = status_key(occ)
        attrs = (f'class="term st-{key}" data-pair="{_e(s.id)}.t{n}" '
                 f'data-term="{_e(occ.term_id)}" data-status="{key}" '
                 f'title="{_e(term_title(terms.get(occ.term_id), occ.term_id, key))}"')
        zh_spans.append((occ.start, occ.end, f"<mark {attrs}>"))
        if s.en is not None and occ.en_start is not None and occ.en_end is not None:
            en_spans.append((occ.en_start, occ.en_end, f"<mark {attrs}>"))
    zh = mark_spans(s.zh, zh_spans)
    if s.en is None:
        en = '<span class="untranslated">(not translated)</span>'
    else:
        en = mark_spans(s.en, en_spans)
    return zh, en


def _provenance(doc: Document) -> str:
    prov, src = doc.provenance, doc.source
    total = len(doc.sentences())
    rows = [
        ("Source file", f"{_e(src.filename)} <span class=\"hash\">sha256 {_e(src.sha256)}</span>"),
        ("Source encoding", _e(src.encoding)),
        *_about(doc),
    ]
    if src.dropped_chars:
        rows.append(("Removed characters",
                     f"{src.dropped_chars} characters that XML 1.0 forbids"))
    model = f"{_e(prov.package_name or '(none)')} {_e(prov.package_version)}"
    if prov.package_synthetic:
        model += " <strong>(SYNTHETIC, random weights)</strong>"
    rows += [
        ("Model package", model),
        ("CTranslate2", _e(prov.ctranslate2_version)),
        ("Decoding", f"beam size {prov.beam_size}"
         + (f"; compute type {_e(prov.compute_type)}" if prov.compute_type else "")
         + (f"; length cap {_e(prov.length_cap)}" if prov.length_cap else "")),
        ("Glossary enforcement", _e(prov.glossary_enforcement or "not recorded")),
        ("Glossary", f"{_e(prov.glossary_path)} "
         f"<span class=\"hash\">sha256 {_e(prov.glossary_sha256)}</span>"),
        ("Pipeline", f"zhen {_e(prov.pipeline_version)}"),
        ("Date", _e(prov.date)),
        ("From memory", f"{prov.sentences_from_memory} of {total} sentences taken from "
         "the translation memory"),
        ("Human translations", f"{sum(s.human for s in doc.sentences())} of {total} "
         "sentences translated or revised by a person"
         + (f" ({_e(', '.join(prov.translators))})" if prov.translators else "")),
    ]
    items = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    return f'<dl class="prov">{items}</dl>'


def _about(doc: Document) -> list[tuple[str, str]]:
    """Provenance rows of the document's metadata: those it has."""
    info = doc.info
    rows = [("English title", f'<span lang="en">{_e(info.title_en)}</span>'),
            ("Author", _e(info.author)), ("Published", _e(info.date)),
            ("Publisher", _e(info.publisher)),
            ("URL", f'<a href="{_e(info.url)}">{_e(info.url)}</a>'
             if info.url.startswith(("http://", "https://")) else _e(info.url)),
            ("Source format", _e(info.format))]
    rows += [(_e(key), _e(value)) for key, value in info.extra]
    values = (info.title_en, info.author, info.date, info.publisher, info.url, info.format)
    return [row for row, value in zip(rows, [*values, *(v for _, v in info.extra)]) if value]


def _summary(doc: Document) -> str:
    counts = status_counts(doc)
    rows = "".join(
        f'<tr data-status="{key}"><td><span class="st-{key}">{STATUS_LABELS[key]}</span></td>'
        f'<td class="n">{n}</td></tr>' for key, n in counts.items())
    total = sum(counts.values())
    n_par, n_sent = len(doc.paragraphs), len(doc.sentences())
    return (f'<section class="counts"><h2>Summary</h2><p>{n_par} paragraphs, {n_sent} sentences, '
            f'{total} term occurrences.</p><table class="summary"><thead><tr><th>Status</th>'
            f'<th>Occurrences</th></tr></thead><tbody>{rows}</tbody>'
            f'<tfoot><tr><th>total</th><td class="n">{total}</td></tr></tfoot></table></section>')


def _legend(doc: Document) -> str:
    items = "".join(
        f'<li><span class="st-{s.value}">{STATUS_LABELS[s.value]}</span> '
        f"{_e(STATUS_DESCRIPTIONS[s])}</li>" for s in TermStatus)
    if NO_STATUS in status_counts(doc):
        items += f'<li><span class="st-{NO_STATUS}">no status</span> not yet translated</li>'
    return (f'<section class="key"><h2>Legend</h2><ul class="legend">{items}</ul>'
            "<p class=\"legend\">Hover a highlighted term for its approved rendering and note; "
            "its partner on the other side lights up.</p></section>")


def _glossary(doc: Document) -> str:
    per_term: dict[str, Counter[str]] = {}
    for s in doc.sentences():
        for occ in s.terms:
            per_term.setdefault(occ.term_id, Counter())[status_key(occ)] += 1
    if not per_term:
        return ""
    keys = list(status_counts(doc))
    head = "".join(f"<th>{STATUS_LABELS[k]}</th>" for k in keys)
    rows = []
    for tid in sorted(per_term):
        term = doc.terms.get(tid)
        zh, rendering, note = (term.zh, term.rendering, term.note) if term else (tid, "", "")
        cells = "".join(f'<td class="n">{per_term[tid].get(k, 0)}</td>' for k in keys)
        rows.append(f'<tr data-term="{_e(tid)}"><td lang="zh">{_e(zh)}</td>'
                    f'<td lang="en">{_e(rendering)}</td>{cells}<td>{_e(note)}</td></tr>')
    return (f'<details class="terms" open><summary>Glossary terms in this document '
            f'({len(per_term)})</summary><table class="glossary"><thead><tr><th>Chinese</th>'
            f'<th>Approved rendering</th>{head}<th>Note</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></details>')


def _suggestions(matches: Sequence[Suggestion]) -> str:
    """Fuzzy matches from people's translations of similar sentences: shown, never used."""
    if not matches:
        return ""
    items = "".join(f'<li><span class="score">{round(m.score)}%</span> '
                    f'<span lang="zh">{_e(m.source)}</span> → {_e(m.target)}</li>'
                    for m in matches)
    return (f'<details class="suggest"><summary>{len(matches)} similar human '
            f'translation(s)</summary><ul>{items}</ul></details>')


def _qa_list(found: Sequence[Finding]) -> str:
    """The QA findings of one sentence, under its English."""
    if not found:
        return ""
    items = "".join(f'<li class="sev-{_e(f.severity)}" data-check="{_e(f.check)}">'
                    f'<span class="sev">{_e(f.severity)}</span><span class="check">'
                    f"{_e(f.check)}</span>: {_e(f.detail)}</li>" for f in found)
    return f'<ul class="qa">{items}</ul>'


def _qa_summary(findings: Sequence[Finding]) -> str:
    """Counts of the QA findings and the "only flagged" filter (CSS only, no script)."""
    counts = Counts.of(findings)
    flagged = len({f.sentence_id for f in findings})
    return (f'<section class="qa-summary"><h2>Quality checks</h2><p>{flagged} sentence(s) '
            f"flagged: {_e(counts)}.</p>"
            '<p class="qa-filter"><label><input type="checkbox" id="only-flagged"> only '
            "flagged sentences</label></p></section>")


def _aligned(doc: Document, suggestions: Mapping[str, Sequence[Suggestion]],
             findings: Mapping[str, Sequence[Finding]] | None = None) -> str:
    findings = findings or {}
    bodies = []
    for para in doc.paragraphs:
        rows = []
        for s in para.sentences:
            zh, en = _sentence_cells(s, doc.terms)
            who = f" ({s.translator})" if s.translator else ""
            badge = (f'<span class="origin" title="translated or revised by a person{_e(who)}">'
                     "human</span>" if s.human else "")
            found = findings.get(s.id, ())
            flag = ""
            if found:
                worst = min((f.severity for f in found), key=severity_rank)
                checks = " ".join(dict.fromkeys(f.check for f in found))
                flag = f' data-qa="{_e(checks)}" data-severity="{worst}"'
            rows.append(
                f'<tr class="pair{" human" if s.human else ""}"{flag} id="{_e(s.id)}" '
                f'data-origin="{s.origin.value}"><td class="sid" data-para="{_e(para.id)}">'
                f'<a href="#{_e(s.id)}">{_e(s.id)}</a></td>'
                f'<td class="zh" lang="zh">{zh}</td><td class="en" lang="en">{en}{badge}'
                f'{_qa_list(found)}{_suggestions(suggestions.get(s.id, ()))}</td></tr>')
        if rows:
            kind = " head" if para.kind == "head" else ""  # a heading of the document
            bodies.append(f'<tbody class="para{kind}" id="{_e(para.id)}">{"".join(rows)}'
                          "</tbody>")
    return ('<table class="aligned"><colgroup><col class="c-id"><col class="c-zh">'
            '<col class="c-en"></colgroup><thead><tr><th>id</th><th lang="zh">中文</th>'
            f'<th lang="en">English</th></tr></thead>{"".join(bodies)}</table>')


def _title_en(doc: Document) -> str:
    title = doc.info.title_en
    return f'<p class="title-en" lang="en">{_e(title)}</p>\n' if title else ""


def render_html(doc: Document,
                suggestions: Mapping[str, Sequence[Suggestion]] | None = None,
                findings: Sequence[Finding] | None = None) -> str:
    """The whole HTML5 page for a document (pure); `suggestions` (by sentence id) are fuzzy
    matches from people's translations, shown under the English; `findings` (qa) are
    marked on their sentences, with a filter "only flagged" (None: no QA section)."""
    qa = _qa_summary(findings) if findings is not None else ""
    banner = (f'<div class="banner" role="alert">{_e(SYNTHETIC_WARNING)}</div>'
              if doc.provenance.package_synthetic else "")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="zhen">\n'
        f"<title>{_e(doc.title)} — zhen bilingual view</title>\n"
        f"<style>\n{CSS}\n</style>\n</head>\n<body>\n"
        f'<header>\n<h1 lang="zh">{_e(doc.title)}</h1>\n{_title_en(doc)}{banner}\n'
        f'<div class="meta">{_provenance(doc)}{_summary(doc)}</div>\n'
        f"{_legend(doc)}\n{_glossary(doc)}\n{qa}</header>\n"
        f"<main>\n{_aligned(doc, suggestions or {}, of_document(findings or (), doc))}"
        "\n</main>\n"
        f"<script>\n{JS}\n</script>\n</body>\n</html>\n"
    )


def write_view(tei_path: str | Path, out_html: str | Path,
               human: Sequence[HumanTranslation] = ()) -> Path:
    """Read a zhen TEI file and write its HTML view, QA findings marked; returns the page's
    path.  `human`: people's translations to offer as fuzzy matches.

    If `out_html` is an existing directory the page is written there as `<stem>.html`.
    """
    doc = read_tei(tei_path)
    out = Path(out_html)
    if out.is_dir():
        out = out / f"{doc.id}.html"
    html = render_html(doc, suggest_translations(doc.sentences(), human), check_document(doc))
    write_atomic(out, html.encode("utf-8"))
    return out
