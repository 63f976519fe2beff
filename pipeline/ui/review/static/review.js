// zhen review: the page of the post-editing workbench.  Document text only ever goes into
// the page as text (textContent, text nodes, attribute values): nothing in a document is
// parsed as HTML or run.  The page is marked data-ready="list" or "doc" when drawn.
"use strict";
(function () {
  var doc = null;       // the state of the open document (from the server)
  var current = null;   // the id of the sentence with the cursor
  var editing = null;   // the id of the sentence being edited
  var saving = false;

  function $(selector) { return document.querySelector(selector); }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { node.textContent = attrs[k]; } else { node.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) {
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }

  function say(message) { $("#status").textContent = message; }

  function warn(message) {
    var box = $("#alert");
    box.textContent = message || "";
    box.hidden = !message;
  }

  function api(path, options) {
    return fetch(path, options).then(function (r) {
      return r.json().catch(function () { return { message: r.statusText }; })
        .then(function (body) { return { ok: r.ok, status: r.status, body: body }; });
    }, function () {
      return { ok: false, status: 0, body: { message: "the workbench does not answer: is zhen review still running?" } };
    });
  }

  function docUrl(name) { return "/api/documents/" + encodeURIComponent(name); }

  // -- the list of documents -------------------------------------------------------------

  function showList() {
    doc = null; current = null; editing = null;
    $("#doc-view").hidden = true;
    $("#doc-title").textContent = "";
    return api("/api/documents").then(function (r) {
      if (!r.ok) { warn(r.body.message); return; }
      warn("");
      $("#folder").textContent = r.body.folder;
      var body = $("#documents tbody");
      body.textContent = "";
      r.body.documents.forEach(function (d) {
        var row;
        if (d.reviewable) {
          var link = el("a", { href: "#/doc/" + encodeURIComponent(d.name), text: d.name });
          row = el("tr", { "data-name": d.name }, [
            el("td", {}, [link]), el("td", { lang: "zh", text: d.title }),
            el("td", { class: "n", text: String(d.sentences) }),
            el("td", { class: "n", text: String(d.human) }),
            el("td", { class: "n", text: String(d.flagged) }),
            el("td", { class: "n", text: String(d.counts.error) }),
            el("td", { class: "n", text: String(d.counts.warning) })]);
        } else {
          row = el("tr", { class: "unreviewable", "data-name": d.name }, [
            el("td", { text: d.name }),
            el("td", { colspan: "6", text: "not reviewable: " + d.reason })]);
        }
        body.appendChild(row);
      });
      $("#list-view").hidden = false;
      document.body.setAttribute("data-ready", "list");
    });
  }

  // -- one document ----------------------------------------------------------------------

  function openDoc(name) {
    return api(docUrl(name)).then(function (r) {
      if (!r.ok) { warn(r.body.message); return; }
      warn("");
      doc = r.body; editing = null; current = null;
      draw();
    });
  }

  function marked(text, spans, terms) {
    // text with each span (start, end, status, term id) wrapped in a <mark>
    var out = document.createDocumentFragment();
    var pos = 0;
    spans.slice().sort(function (a, b) { return a[0] - b[0] || b[1] - a[1]; })
      .forEach(function (sp) {
        if (!(pos <= sp[0] && sp[0] < sp[1] && sp[1] <= text.length)) { return; }
        out.appendChild(document.createTextNode(text.slice(pos, sp[0])));
        var term = terms[sp[3]];
        var title = term ? term.zh + " → " + term.rendering + " (" + sp[2] + ")" : sp[3];
        out.appendChild(el("mark", { class: "term st-" + sp[2], "data-term": sp[3],
                                     title: title, text: text.slice(sp[0], sp[1]) }));
        pos = sp[1];
      });
    out.appendChild(document.createTextNode(text.slice(pos)));
    return out;
  }

  function findingsList(found) {
    var list = el("ul", { class: "qa" });
    found.forEach(function (f) {
      list.appendChild(el("li", { class: "sev-" + f.severity, "data-check": f.check,
                                  title: (doc.checks[f.check] || {}).description || "" }, [
        el("span", { class: "sev", text: f.severity }),
        el("span", { class: "check", text: f.check }), ": " + f.detail]));
    });
    return list;
  }

  var RANK = { error: 0, warning: 1, info: 2 };

  function englishCell(s) {
    var cell = el("td", { class: "en", lang: "en" });
    var spans = s.terms.filter(function (t) { return t.en_start !== null && t.en_end !== null; })
      .map(function (t) { return [t.en_start, t.en_end, t.status, t.term]; });
    cell.appendChild(el("div", { class: "text" }, [marked(s.en || "", spans, doc.terms)]));
    if (s.origin === "human") {
      cell.appendChild(el("span", { class: "origin", title: "translated or revised by a person" +
        (s.translator ? " (" + s.translator + ")" : ""), text: "human" }));
    }
    if (s.score !== null && s.score !== undefined) {
      cell.appendChild(el("span", { class: "score", text: "score " + s.score.toFixed(4),
        title: "the model's confidence in this English: the geometric mean of the " +
               "probabilities of its tokens, 0 to 1" }));
    }
    if (s.findings.length) { cell.appendChild(findingsList(s.findings)); }
    return cell;
  }

  function row(s, first, paraId) {
    var zhSpans = s.terms.map(function (t) { return [t.start, t.end, t.status, t.term]; });
    var tr = el("tr", { class: "pair" + (first ? " para-start" : ""), "data-sid": s.id,
                        "data-para": paraId, "data-origin": s.origin, tabindex: "-1" }, [
      el("td", { class: "sid", text: s.id }),
      el("td", { class: "zh", lang: "zh" }, [marked(s.zh, zhSpans, doc.terms)]),
      englishCell(s)]);
    if (s.findings.length) {
      var worst = s.findings.map(function (f) { return f.severity; })
        .sort(function (a, b) { return RANK[a] - RANK[b]; })[0];
      tr.setAttribute("data-severity", worst);
      tr.setAttribute("data-qa", s.findings.map(function (f) { return f.check; }).join(" "));
    }
    if (s.score !== null && s.score !== undefined) {
      tr.setAttribute("data-score", s.score.toFixed(4));
    }
    tr.addEventListener("click", function () { if (editing !== s.id) { moveTo(s.id); } });
    tr.addEventListener("dblclick", function () { startEdit(s.id); });
    return tr;
  }

  function sentence(id) {
    for (var i = 0; i < doc.paragraphs.length; i++) {
      var found = doc.paragraphs[i].sentences.filter(function (s) { return s.id === id; });
      if (found.length) { return found[0]; }
    }
    return null;
  }

  function draw() {
    $("#list-view").hidden = true;
    $("#doc-title").textContent = doc.title + " — " + doc.name;
    var banner = $("#banner");
    banner.hidden = !doc.synthetic;
    banner.textContent = doc.synthetic ? "This document was translated by a SYNTHETIC test " +
      "model with random weights (" + doc.model + "): its English is noise." : "";
    $("#counts").textContent = "QA: " + doc.counts.error + " error(s), " +
      doc.counts.warning + " warning(s), " + doc.counts.info + " info";
    $("#version").textContent = "version " + doc.version.slice(0, 12);
    var body = $("#pairs tbody");
    body.textContent = "";
    doc.paragraphs.forEach(function (p) {
      p.sentences.forEach(function (s, i) { body.appendChild(row(s, i === 0, p.id)); });
    });
    if ($("#score-max").value === "") { $("#score-max").value = String(doc.low_score); }
    arrange();
    $("#doc-view").hidden = false;
    if (current) { moveTo(current); }
    document.body.setAttribute("data-doc", doc.name);
    document.body.setAttribute("data-ready", "doc");
  }

  // -- moving ----------------------------------------------------------------------------

  function rows(flaggedOnly) {
    return Array.prototype.slice.call(document.querySelectorAll("#pairs tr.pair"))
      .filter(function (r) {
        return r.offsetParent !== null && (!flaggedOnly || r.hasAttribute("data-severity"));
      });
  }

  function rowOf(id) { return document.querySelector('#pairs tr.pair[data-sid="' + CSS.escape(id) + '"]'); }

  function moveTo(id) {
    document.querySelectorAll("#pairs tr.current").forEach(function (r) {
      r.classList.remove("current"); r.removeAttribute("aria-current");
    });
    var r = rowOf(id);
    if (!r) { return; }
    current = id;
    r.classList.add("current");
    r.setAttribute("aria-current", "true");
    r.focus({ preventScroll: true });
    r.scrollIntoView({ block: "nearest" });
  }

  function step(delta, flaggedOnly) {
    var list = rows(flaggedOnly);
    if (!list.length) { say(flaggedOnly ? "no flagged sentence" : ""); return; }
    var all = rows(false);
    var here = current ? all.indexOf(rowOf(current)) : -1;
    var target = null;
    if (delta > 0) {
      target = list.filter(function (r) { return all.indexOf(r) > here; })[0] || null;
    } else {
      var before = list.filter(function (r) { return here < 0 || all.indexOf(r) < here; });
      target = before.length ? before[before.length - 1] : null;
    }
    if (!target) { say(flaggedOnly ? "no further flagged sentence" : ""); return; }
    moveTo(target.getAttribute("data-sid"));
  }

  // -- editing ---------------------------------------------------------------------------

  function startEdit(id) {
    if (editing) { return; }
    var s = sentence(id);
    if (!s) { return; }
    moveTo(id);
    editing = id;
    var cell = rowOf(id).querySelector("td.en");
    var area = el("textarea", { id: "editor", lang: "en", "aria-label": "English of " + id });
    area.value = s.en || "";
    var save = el("button", { type: "button", id: "save", text: "Save (Ctrl+Enter)" });
    var cancel = el("button", { type: "button", id: "cancel", text: "Cancel (Esc)" });
    save.addEventListener("click", saveEdit);
    cancel.addEventListener("click", cancelEdit);
    cell.textContent = "";
    cell.appendChild(area);
    cell.appendChild(el("div", { class: "edit-actions" }, [save, cancel]));
    area.focus();
    say("editing " + id);
  }

  function cancelEdit() {
    if (!editing) { return; }
    var id = editing;
    editing = null;
    var r = rowOf(id);
    r.replaceChild(englishCell(sentence(id)), r.querySelector("td.en"));
    moveTo(id);
    say("");
  }

  function saveEdit() {
    if (!editing || saving) { return; }
    var id = editing;
    var text = $("#editor").value;
    saving = true;
    say("saving " + id + "…");
    api(docUrl(doc.name) + "/sentences/" + encodeURIComponent(id), {
      method: "POST",
      headers: { "Content-Type": "application/json", "If-Match": '"' + doc.version + '"' },
      body: JSON.stringify({ en: text })
    }).then(function (r) {
      saving = false;
      if (!r.ok) {
        say("not saved");
        warn(r.body.message || ("not saved (HTTP " + r.status + ")"));
        document.body.setAttribute("data-ready", "refused");
        return;
      }
      warn("");
      doc = r.body;
      editing = null;
      current = id;
      draw();
      var s = sentence(id);
      say("saved " + id + " as a human translation; QA: " + (s.findings.length ?
        s.findings.map(function (f) { return f.check; }).join(", ") : "no findings"));
      document.body.setAttribute("data-ready", "saved");
    });
  }

  // -- keys and routes -------------------------------------------------------------------

  document.addEventListener("keydown", function (ev) {
    if (!doc) { return; }
    if (editing) {
      if (ev.key === "Escape") { ev.preventDefault(); cancelEdit(); }
      else if ((ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) ||
               (ev.key === "s" && (ev.ctrlKey || ev.metaKey))) { ev.preventDefault(); saveEdit(); }
      return;
    }
    if (ev.ctrlKey || ev.metaKey || ev.altKey || /^(INPUT|SELECT)$/.test(ev.target.tagName)) { return; }
    var keys = {
      j: function () { step(1, false); }, ArrowDown: function () { step(1, false); },
      k: function () { step(-1, false); }, ArrowUp: function () { step(-1, false); },
      n: function () { step(1, true); }, p: function () { step(-1, true); },
      N: function () { step(-1, true); },
      Enter: function () { if (current) { startEdit(current); } },
      e: function () { if (current) { startEdit(current); } },
      f: function () { var box = $("#only-flagged"); box.checked = !box.checked; filter(); },
      s: function () {
        var sel = $("#order");
        sel.value = sel.value === "score" ? "document" : "score";
        arrange();
      },
      l: function () { var box = $("#only-low"); box.checked = !box.checked; filter(); },
      u: function () { location.hash = ""; }
    };
    if (keys[ev.key]) { ev.preventDefault(); keys[ev.key](); }
  });

  function filter() {
    document.body.classList.toggle("only-flagged", $("#only-flagged").checked);
    document.body.classList.toggle("only-low", $("#only-low").checked);
  }

  // -- scores: order by them, show only those below a threshold --------------------------

  function scoreOf(r) {
    var v = r.getAttribute("data-score");
    return v === null ? null : parseFloat(v);
  }

  function arrange() {
    // rows in document order, or lowest score first (rows without a score, a person's
    // English, last; document order among equals); rows below the threshold marked
    var body = $("#pairs tbody");
    var all = Array.prototype.slice.call(body.querySelectorAll("tr.pair"));
    var order = {};
    var n = 0;
    doc.paragraphs.forEach(function (p) {
      p.sentences.forEach(function (s) { order[s.id] = n++; });
    });
    var byScore = $("#order").value === "score";
    var max = parseFloat($("#score-max").value);
    all.sort(function (a, b) {
      var ia = order[a.getAttribute("data-sid")], ib = order[b.getAttribute("data-sid")];
      if (byScore) {
        var sa = scoreOf(a), sb = scoreOf(b);
        if (sa !== sb) {
          if (sa === null) { return 1; }
          if (sb === null) { return -1; }
          return sa - sb;
        }
      }
      return ia - ib;
    }).forEach(function (r) {
      var score = scoreOf(r);
      r.classList.toggle("low-score", score !== null && !isNaN(max) && score < max);
      body.appendChild(r);
    });
    document.body.classList.toggle("by-score", byScore);
    filter();
    if (current) { moveTo(current); }
  }

  function route() {
    var m = location.hash.match(/^#\/doc\/(.+)$/);
    warn("");
    if (m) { openDoc(decodeURIComponent(m[1])); } else { showList(); }
  }

  $("#only-flagged").addEventListener("change", filter);
  $("#only-low").addEventListener("change", filter);
  $("#order").addEventListener("change", arrange);
  $("#score-max").addEventListener("input", arrange);
  window.addEventListener("hashchange", route);
  route();
})();
