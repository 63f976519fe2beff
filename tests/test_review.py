"""`zhen review`: the workbench over HTTP (each bad input refused, nothing written), two
saves at once (one wins), and the real page driven in Debian's headless Chromium."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import REPO, run_zhen
from zhen.document import Document, Paragraph, Sentence, SourceInfo
from zhen.memory.sqlite import SqliteMemory
from zhen.tei.body import tei_bytes
from zhen.tei.read import read_tei

FAULTS = REPO / "tests" / "data" / "qa-faults.tei.xml"
DOC = "qa-faults.tei.xml"
MARKUP = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script> & done.'
FIXED = "By 2030, the regional digital economy is expected to reach 1.5 trillion US dollars."


@pytest.fixture
def folder(tmp_path) -> Path:
    """A review folder: the planted-faults document, one with markup in its English, a TEI
    that is not zhen's, one not well-formed, and a link to a document outside."""
    root = tmp_path / "review"
    root.mkdir()
    (root / DOC).write_bytes(tei_bytes(read_tei(FAULTS)))
    (root / "markup.tei.xml").write_bytes(tei_bytes(markup_document()))
    (root / "foreign.tei.xml").write_text(
        '<TEI xmlns="http://www.tei-c.org/ns/1.0"><teiHeader><fileDesc><titleStmt><title>x'
        "</title></titleStmt><publicationStmt><p>x</p></publicationStmt><sourceDesc><p>x</p>"
        "</sourceDesc></fileDesc></teiHeader><text><body><p>x</p></body></text></TEI>")
    (root / "broken.tei.xml").write_text("<TEI><text>")
    (tmp_path / "outside.tei.xml").write_bytes(tei_bytes(read_tei(FAULTS)))
    (root / "link.tei.xml").symlink_to(tmp_path / "outside.tei.xml")
    return root


def markup_document() -> Document:
    """A document whose English holds markup (a machine translation, say)."""
    return Document("markup", "标记", SourceInfo("markup.txt", "0" * 64, "utf-8"), paragraphs=[
        Paragraph("p1", [Sentence("p1.s1", "会议在北京举行。", MARKUP)])])


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file's bytes, the one outside the folder included."""
    files = {p.name: p.read_bytes() for p in root.iterdir()}
    files["../outside"] = (root.parent / "outside.tei.xml").read_bytes()
    return files


# -- HTTP, in process --------------------------------------------------------------------


@pytest.fixture
def client(folder, tmp_path):
    from starlette.testclient import TestClient
    from zhen.ui.review.app import create_app

    app = create_app(folder, tmp_path / "memory.sqlite3", "Reviewer", hosts=("testserver",))
    with TestClient(app) as c:
        yield c


OWN = {"Origin": "http://testserver", "Content-Type": "application/json"}


def save(client, sid: str, english: str, version: str | None, name: str = DOC,
         headers: dict | None = None, **kw):
    h = dict(OWN if headers is None else headers)
    if version is not None:
        h["If-Match"] = f'"{version}"'
    return client.post(f"/api/documents/{name}/sentences/{sid}", headers=h,
                       content=json.dumps({"en": english}), **kw)


def version_of(client, name: str = DOC) -> str:
    r = client.get(f"/api/documents/{name}")
    assert r.status_code == 200, r.text
    return r.json()["version"]


def test_listing_says_which_documents_can_be_reviewed_and_why_not(client, folder):
    before = snapshot(folder)
    listing = {d["name"]: d for d in client.get("/api/documents").json()["documents"]}
    assert sorted(listing) == ["broken.tei.xml", "foreign.tei.xml", "link.tei.xml",
                               "markup.tei.xml", DOC]
    assert listing[DOC]["reviewable"] and listing[DOC]["flagged"] == 5
    assert listing[DOC]["counts"] == {"error": 4, "warning": 1, "info": 0}
    assert "well-formed" in listing["broken.tei.xml"]["reason"]
    assert "not a zhen TEI" in listing["foreign.tei.xml"]["reason"]
    assert "outside the review folder" in listing["link.tei.xml"]["reason"]
    assert not any(listing[n]["reviewable"] for n in ("broken.tei.xml", "foreign.tei.xml",
                                                      "link.tei.xml"))
    assert snapshot(folder) == before


def test_document_state_has_terms_statuses_and_findings(client):
    state = client.get(f"/api/documents/{DOC}").json()
    sentences = {s["id"]: s for p in state["paragraphs"] for s in p["sentences"]}
    assert {(sid, f["check"]) for sid, s in sentences.items() for f in s["findings"]} == {
        ("p2.s3", "numbers"), ("p3.s1", "numbers"), ("p3.s2", "untranslated"),
        ("p3.s3", "term-missed"), ("p4.s1", "term-inconsistent")}
    assert [t["status"] for t in sentences["p3.s3"]["terms"]] == ["missed"]
    assert state["terms"]["supply-chain-resilience"]["rendering"] == "supply chain resilience"


def test_save_is_a_human_translation_in_the_memory_and_qa_runs_again(client, folder, tmp_path):
    old = version_of(client)
    r = save(client, "p3.s1", FIXED, old)
    assert r.status_code == 200, r.text
    state = r.json()
    assert state["saved"] == "p3.s1" and state["version"] != old
    assert r.headers["etag"] == f'"{state["version"]}"'
    s = next(s for p in state["paragraphs"] for s in p["sentences"] if s["id"] == "p3.s1")
    assert s["en"] == FIXED and s["origin"] == "human" and s["findings"] == []
    doc = read_tei(folder / DOC)
    on_disk = next(s for s in doc.sentences() if s.id == "p3.s1")
    assert on_disk.en == FIXED and on_disk.human and on_disk.translator == "Reviewer"
    assert on_disk.qa == ()
    assert [s.id for s in doc.sentences() if s.qa] == ["p2.s3", "p3.s2", "p3.s3", "p4.s1"]
    client.get("/api/documents")  # the worker thread has stored it by now
    memory = SqliteMemory(tmp_path / "memory.sqlite3")
    try:
        assert [(h.target, h.translator) for h in memory.human_entries()
                if h.source == on_disk.zh] == [(FIXED, "Reviewer")]
    finally:
        memory.close()


def test_a_stale_version_is_refused_and_nothing_is_written(client, folder):
    old = version_of(client)
    assert save(client, "p3.s1", FIXED, old).status_code == 200
    after = snapshot(folder)
    r = save(client, "p2.s3", "Another reviewer's English.", old)
    assert r.status_code == 409 and r.json()["error"] == "stale"
    assert "changed on disk since you opened it" in r.json()["message"]
    assert snapshot(folder) == after


@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example", "Content-Type": "application/json"},
    {"Origin": "http://127.0.0.1:8765", "Content-Type": "application/json"},
    {"Content-Type": "application/json"},
    {**OWN, "Sec-Fetch-Site": "cross-site"},
])
def test_a_write_without_the_workbench_origin_is_refused(client, folder, headers):
    before = snapshot(folder)
    r = save(client, "p3.s1", FIXED, version_of(client), headers=headers)
    assert r.status_code == 403 and r.json()["error"] == "origin"
    assert snapshot(folder) == before


def test_an_oversized_body_is_refused(client, folder):
    from zhen.ui.review.app import MAX_BODY

    before = snapshot(folder)
    r = save(client, "p3.s1", "x" * MAX_BODY, version_of(client))
    assert r.status_code == 413 and r.json()["error"] == "too-large"
    assert snapshot(folder) == before


@pytest.mark.parametrize("path, status", [
    ("/api/documents/..%2Foutside.tei.xml", 404),
    ("/api/documents/%2E%2E%2Foutside.tei.xml", 404),
    ("/api/documents/..%5Coutside.tei.xml", 404),
    ("/api/documents/.hidden.tei.xml", 404),
    ("/api/documents/link.tei.xml", 403),
    ("/api/documents/memory.sqlite3", 404),
    ("/static/..%2F..%2Fedits.py", 404),
    ("/static/index.html", 404),
])
def test_paths_outside_the_folder_are_refused(client, path, status):
    r = client.get(path)
    assert r.status_code == status, r.text
    assert "Digital Silk" not in r.text


def test_writes_outside_the_folder_or_to_unreviewable_files_are_refused(client, folder):
    before = snapshot(folder)
    version = version_of(client)
    assert save(client, "p3.s1", FIXED, version, name="link.tei.xml").status_code == 403
    for name in ("foreign.tei.xml", "broken.tei.xml"):
        current = __import__("hashlib").sha256((folder / name).read_bytes()).hexdigest()
        r = save(client, "p1.s1", FIXED, current, name=name)
        assert r.status_code == 409 and r.json()["error"] == "not-reviewable", r.text
    assert client.post("/api/documents/..%2Foutside.tei.xml/sentences/p3.s1",
                       headers={**OWN, "If-Match": f'"{version}"'},
                       content=json.dumps({"en": FIXED})).status_code == 404
    assert snapshot(folder) == before


def test_malformed_saves_are_refused(client, folder):
    before = snapshot(folder)
    version = version_of(client)
    assert save(client, "p3.s1", FIXED, None).status_code == 428
    assert save(client, "p3.s1", FIXED, version,
                headers={**OWN, "Content-Type": "text/plain"}).status_code == 415
    r = client.post(f"/api/documents/{DOC}/sentences/p3.s1",
                    headers={**OWN, "If-Match": f'"{version}"'}, content=b"{not json")
    assert r.status_code == 400
    assert save(client, "p3.s1", "   ", version).status_code == 422
    assert save(client, "p9.s9", FIXED, version).status_code == 404
    assert client.get(f"/api/documents/{DOC}/sentences/p3.s1").status_code == 405
    assert snapshot(folder) == before


def test_unknown_host_names_are_refused(client):
    r = client.get("/api/documents", headers={"Host": "attacker.example"})
    assert r.status_code == 400 and r.json()["error"] == "host"


def test_the_page_forbids_foreign_scripts_and_never_parses_document_text_as_html(client):
    r = client.get("/")
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    script = client.get("/static/review.js").text
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                 "new Function"):
        assert sink not in script
    assert "<script>" not in r.text.split("</head>")[1]  # no inline script


# -- a real server ----------------------------------------------------------------------


@pytest.fixture
def server(folder, zhen_env):
    """`zhen review FOLDER --port 0` in a subprocess; yields its URL."""
    proc = subprocess.Popen([sys.executable, "-m", "zhen", "review", str(folder),
                             "--port", "0"], env=zhen_env, cwd=REPO, stderr=subprocess.PIPE,
                            text=True)
    try:
        line = proc.stderr.readline()
        m = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert m, f"zhen review did not start: {line}"
        threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep the pipe drained
        yield m.group(0)
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def post(url: str, name: str, sid: str, english: str, version: str) -> tuple[int, dict]:
    origin = url.rstrip("/")
    req = urllib.request.Request(
        f"{url}api/documents/{name}/sentences/{sid}", method="POST",
        data=json.dumps({"en": english}).encode(),
        headers={"Origin": origin, "Content-Type": "application/json",
                 "If-Match": f'"{version}"'})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_two_saves_of_one_sentence_at_once_exactly_one_wins(server, folder):
    with urllib.request.urlopen(f"{server}api/documents/{DOC}", timeout=60) as r:
        version = json.loads(r.read())["version"]
    texts = [FIXED, "By 2030 the regional digital economy should reach $1.5 trillion."]
    results: list[tuple[int, dict]] = [None, None]  # type: ignore[list-item]
    start = threading.Barrier(2)

    def go(i: int) -> None:
        start.wait()
        results[i] = post(server, DOC, "p3.s1", texts[i], version)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 409], results
    winner = next(i for i, (status, _) in enumerate(results) if status == 200)
    loser = results[1 - winner][1]
    assert loser["error"] == "stale" and "not saved" in loser["message"]
    s = next(s for s in read_tei(folder / DOC).sentences() if s.id == "p3.s1")
    assert s.en == texts[winner] and s.human


def test_review_of_a_missing_folder_or_a_taken_port_is_one_line(tmp_path, zhen_env):
    res = run_zhen(["review", tmp_path / "nowhere", "--port", "0"], zhen_env)
    assert res.returncode == 1 and "nowhere: no such folder" in res.stderr
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        res = run_zhen(["review", tmp_path, "--port", port], zhen_env)
    assert res.returncode == 1 and f"127.0.0.1:{port}: cannot listen" in res.stderr
    assert "Traceback" not in res.stderr


# -- the page in Debian's headless Chromium ---------------------------------------------

def test_review_in_a_real_browser(server, folder, browser, tei_validator, zhen_env):
    path = folder / DOC
    first, second = browser.new_context(), browser.new_context()
    errors: list = []
    page = first.new_page()
    page.on("pageerror", lambda e: errors.append(e))
    page.goto(server)
    page.wait_for_selector("body[data-ready=list]")
    assert page.locator("#documents tr.unreviewable").count() == 3
    assert "not reviewable" in page.inner_text('tr[data-name="broken.tei.xml"]')

    page.click(f"a[href='#/doc/{DOC}']")
    page.wait_for_selector("body[data-ready=doc]")
    other = second.new_page()  # a second reviewer opens the same version
    other.on("pageerror", lambda e: errors.append(e))
    other.goto(f"{server}#/doc/{DOC}")
    other.wait_for_selector("body[data-ready=doc]")

    page.keyboard.press("n")  # the first flagged sentence, then the next
    assert page.get_attribute("tr.pair.current", "data-sid") == "p2.s3"
    page.keyboard.press("n")
    assert page.get_attribute("tr.pair.current", "data-sid") == "p3.s1"
    assert "1.5 trillion" in page.inner_text("tr.pair.current ul.qa")
    page.keyboard.press("Enter")
    page.fill("#editor", FIXED)
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("body[data-ready=saved]")
    assert "saved p3.s1" in page.inner_text("#status")
    row = page.locator('tr.pair[data-sid="p3.s1"]')
    assert row.get_attribute("data-origin") == "human"
    assert row.get_attribute("data-severity") is None  # QA ran again: nothing left
    assert row.locator("td.en .text").inner_text() == FIXED

    s = next(s for s in read_tei(path).sentences() if s.id == "p3.s1")
    assert s.en == FIXED and s.human and s.qa == ()
    tei_validator(path)
    memory = SqliteMemory(Path(zhen_env["ZHEN_MEMORY"]))
    try:
        assert FIXED in [h.target for h in memory.human_entries()]
    finally:
        memory.close()

    page.keyboard.press("f")  # only flagged: the four left
    assert page.locator("#pairs tr.pair:visible").count() == 4

    saved = path.read_bytes()  # the second reviewer saves on the version she loaded
    other.keyboard.press("n")
    other.keyboard.press("Enter")
    other.fill("#editor", "The project plans to train 20,000 technicians in three years.")
    other.keyboard.press("Control+Enter")
    other.wait_for_selector("body[data-ready=refused]")
    assert "changed on disk since you opened it" in other.inner_text("#alert")
    assert other.input_value("#editor").startswith("The project plans to train 20,000")
    assert path.read_bytes() == saved

    page.goto(f"{server}#/doc/markup.tei.xml")  # markup in a document stays text
    page.wait_for_selector('body[data-doc="markup.tei.xml"]')  # (the CSP forbids eval)
    assert page.locator('tr.pair[data-sid="p1.s1"] td.en .text').inner_text() == MARKUP
    assert page.evaluate("window.pwned") is None
    assert page.locator("#pairs img, #pairs script").count() == 0
    assert errors == []
