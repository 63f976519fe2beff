"""People and runs writing the same TEI files at once, with real processes (issue 22,
point 5): the review server saving corrections continuously over HTTP (as the browser
does), `make -j2` runs with a glossary change before each (so every run rewrites every
output), and `zhen import xliff`, all on one project folder and one translation memory.

At the end: every save the server accepted (200) and the import are in the TEI files and
in the memory, every file is valid TEI, and no run failed because of another.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

from conftest import scratch_project
from lxml import etree
from zhen.digests import normalise_sentence
from zhen.memory.sqlite import SqliteMemory
from zhen.tei.read import read_tei
from zhen.tei.validate import check_invariants

from reliability.conftest import FAST, temp_files, write_corpus

DOCS = 4
RUNS = 2  # one `make -j2` (one zhen for all inputs), one per output (two at a time)
XLIFF_NS = "urn:oasis:names:tc:xliff:document:1.2"


def _request(url: str, data: dict | None = None, headers: dict | None = None):
    req = urllib.request.Request(url, method="POST" if data is not None else "GET",
                                 data=json.dumps(data).encode() if data is not None else None,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


class Reviewer(threading.Thread):
    """While a run is on (`active`), saves a new English for one sentence after another,
    each document in turn, as the page does: load the document (its version), post the
    sentence with If-Match.  Saves land in every phase of the runs (before a run reads a
    file, between its read and its write, after), and the last save of each sentence is
    one made during a run, so a run that loses one leaves it lost."""

    def __init__(self, url: str, names: list[str], skip: tuple[str, str]):
        super().__init__(daemon=True)
        self.url, self.names, self.skip = url, names, skip
        self.stop = threading.Event()
        self.active = threading.Event()
        self.accepted: dict[tuple[str, str], str] = {}  # (file, sentence) → last English
        self.statuses: list[int] = []
        self.problems: list[str] = []

    def run(self) -> None:
        origin = self.url.rstrip("/")
        for n in itertools.count():
            while not self.active.wait(0.05):
                if self.stop.is_set():
                    return
            name = self.names[n % len(self.names)]
            status, state = _request(f"{self.url}api/documents/{name}")
            if status != 200:
                self.problems.append(f"GET {name}: {status} {state}")
                continue
            sids = [s["id"] for p in state["paragraphs"] for s in p["sentences"]
                    if (name, s["id"]) != self.skip]
            sid = sids[(n // len(self.names)) % len(sids)]
            english = f"Reviewer's correction number {n}."
            status, body = _request(
                f"{self.url}api/documents/{name}/sentences/{sid}", {"en": english},
                {"Origin": origin, "Content-Type": "application/json",
                 "If-Match": f'"{state["version"]}"'})
            self.statuses.append(status)
            if status == 200:
                self.accepted[(name, sid)] = english
            elif status != 409:  # 409: a run or the import wrote the file since the GET
                self.problems.append(f"POST {name} {sid}: {status} {body}")
            time.sleep(0.05)  # a person's pace, many times over; the runs get the CPU too


def _start_review(zhen, folder):
    proc = zhen.start("review", folder, "--port", "0")
    line = proc.stderr.readline()
    m = re.search(r"http://127\.0\.0\.1:\d+/", line)
    assert m, f"zhen review did not start: {line}"
    threading.Thread(target=proc.stderr.read, daemon=True).start()
    return proc, m.group(0)


def _xliff_edit(project, name: str, sid: str, english: str) -> str:
    """Export one document's XLIFF (in this process: the import is the other writer),
    keep the unit of sentence `sid` with a translator's target; return its Chinese."""
    from zhen.exports import FORMATS, ExportOptions

    xlf_dir = project / "xliff"
    (path,) = FORMATS["xliff"].write([project / "output" / name], xlf_dir, ExportOptions())
    tree = etree.parse(str(path))
    units = tree.getroot().findall(f".//{{{XLIFF_NS}}}trans-unit")
    (keep,) = [u for u in units if u.get("id") == sid]
    for unit in units:
        if unit is not keep:
            unit.getparent().remove(unit)
    target = keep.find(f"{{{XLIFF_NS}}}target")
    target.text = english
    target.set("state", "translated")
    tree.write(str(path), xml_declaration=True, encoding="UTF-8")
    return keep.find(f"{{{XLIFF_NS}}}source").text


def test_saves_runs_and_an_import_at_once_lose_nothing(zhen, tmp_path, tei_validator):
    project = scratch_project(tmp_path / "project")
    write_corpus(project / "input", DOCS)
    command = ["make", "-j2", f"VENV={sys.prefix}", f"MODEL={zhen.model}",
               f"ZHEN_FLAGS=--quiet {' '.join(FAST)}"]
    first = subprocess.run(command, cwd=project, env=zhen.env, capture_output=True,
                           text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    names = sorted(p.name for p in (project / "output").glob("*.tei.xml"))
    assert len(names) == DOCS

    review, url = _start_review(zhen, project / "output")
    imported = {"name": names[1],  # the import's sentence: the last of a document
                "sid": read_tei(project / "output" / names[1]).sentences()[-1].id}
    reviewer = Reviewer(url, names, (imported["name"], imported["sid"]))
    runs = []
    try:
        reviewer.start()
        glossary = project / "glossary" / "terms.tsv"
        for run in range(RUNS):
            with glossary.open("a", encoding="utf-8") as fh:  # every output stale again
                fh.write(f"zz-race-{run}\t第{run + 1}号简报\tBriefing No. {run + 1}\tterm\t\t\n")
            targets = [] if run % 2 == 0 else [f"output/{name}" for name in names]
            make = subprocess.Popen(command + targets, cwd=project, env=zhen.env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            reviewer.active.set()
            if run == 1:  # an XLIFF import while this make and the reviewer write
                imported["zh"] = _xliff_edit(project, imported["name"], imported["sid"],
                                             "The translator's XLIFF target.")
                res = zhen.run("import", "xliff", *sorted((project / "xliff").glob("*.xlf")),
                               "-o", project / "output", cwd=project)
                assert res.returncode == 0, res.stderr
            runs.append((make.args, *make.communicate(timeout=300), make.returncode))
            reviewer.active.clear()
    finally:
        reviewer.stop.set()
        reviewer.join(timeout=120)
        review.terminate()
        review.wait(timeout=20)

    for args, _, stderr, status in runs:  # no run failed because of another
        assert status == 0, f"{args}: {stderr}"
        assert "Traceback" not in stderr
    assert reviewer.problems == []
    assert 200 in reviewer.statuses and reviewer.accepted, reviewer.statuses

    outputs = sorted((project / "output").glob("*.tei.xml"))
    assert [p.name for p in outputs] == names and temp_files(project / "output") == []
    tei_validator(*outputs)
    memory = SqliteMemory(zhen.memory)
    try:
        for (name, sid), english in reviewer.accepted.items():
            s = next(s for s in read_tei(project / "output" / name).sentences()
                     if s.id == sid)
            assert (s.en, s.human) == (english, True), (name, sid)
            assert memory.lookup_human([s.zh])[normalise_sentence(s.zh)].target == english
        s = next(s for s in read_tei(project / "output" / imported["name"]).sentences()
                 if s.id == imported["sid"])
        assert (s.en, s.human) == ("The translator's XLIFF target.", True), imported
        assert memory.lookup_human([imported["zh"]])[
            normalise_sentence(imported["zh"])].target == "The translator's XLIFF target."
    finally:
        memory.close()
    for path in outputs:
        tree = etree.parse(str(path))
        assert check_invariants(path, tree) == [], path

    # and the next make finds every output up to date with the people's work
    before = {p.name: p.read_bytes() for p in outputs}
    last = subprocess.run(command, cwd=project, env=zhen.env, capture_output=True,
                          text=True, timeout=300)
    assert last.returncode == 0, last.stderr
    rewritten = [p.name for p in outputs if p.read_bytes() != before[p.name]]
    assert rewritten == [], last.stderr
