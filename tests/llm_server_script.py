"""A scripted OpenAI-compatible server, for what a random model cannot show on demand.

Run as a process: `python llm_server_script.py MODE [--log FILE] [--model ID]`; it prints
its port on the first line.  MODE says how it answers (see `reply`); every request body is
appended to the log file as one JSON line, for the tests to read back.

It translates nothing: its "English" is "Sentence N." plus, for each glossary line of the
prompt ("- 印太 → Indo-Pacific" or "印太 翻译成 Indo-Pacific"), the rendering, so that the
term check has something to find.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = {"count": 0}
LOCK = threading.Lock()
TERM = re.compile(r"^(?:- (.+?) → (.+)|(.+?) 翻译成 (.+))$", re.M)


def english_for(text: str, n: int) -> str:
    """Plain ASCII English naming the request, with the glossary renderings asked for."""
    renderings = []
    for m in TERM.finditer(text):
        en = m.group(2) or m.group(4)
        if en and en not in renderings and "Sentence" not in en:
            renderings.append(en.strip())
    tail = (" with " + " and ".join(renderings)) if renderings else ""
    return f"Sentence {n}{tail}."


def prompt_text(body: dict) -> str:
    if "messages" in body:
        return "\n".join(m.get("content", "") for m in body["messages"] if m.get("role") == "user")
    return body.get("prompt", "")


def reply(mode: str, body: dict, n: int):
    """(status, payload or raw text, headers) for request number n (from 1)."""
    text = prompt_text(body)
    english = english_for(text, n)
    if mode == "think":
        content = f"<think>嗯，让我想想这个句子。</think>\n{english}"
    elif mode == "think-open":  # first reply cut inside its reasoning, then fine
        content = "<think>首先分析一下" if n == 1 else english
        if n == 1:
            return 200, _chat(body, content, "length"), {}
    elif mode == "preamble":
        content = f"Here is the translation:\n\n\"{english}\""
    elif mode == "fence":
        content = f"```\n{english}\n```"
    elif mode == "chinese":  # always answers with Chinese left in
        content = f"{english} 还有中文"
    elif mode == "ignores-terms":  # never gives the renderings
        content = f"Sentence {n}."
    elif mode == "stressed-terms":  # gives the renderings only when they are stressed
        content = english if ("MUST" in text or "必须" in text) else f"Sentence {n}."
    elif mode == "batch":
        m = re.search(r"(\[.*\])", text, re.S)
        items = json.loads(m.group(1)) if m and body.get("response_format") else None
        if items is not None:
            content = json.dumps([f"Item {i} of request {n}." for i in range(len(items))])
        else:
            content = english
    elif mode == "batch-refused":  # no JSON schema support: HTTP 400 for response_format
        if body.get("response_format"):
            return 400, {"error": {"message": "response_format is not supported"}}, {}
        content = english
    elif mode == "batch-wrong-count":
        m = re.search(r"(\[.*\])", text, re.S)
        items = json.loads(m.group(1)) if m and body.get("response_format") else None
        if items is not None:
            content = json.dumps([f"Item {i} of request {n}." for i in range(len(items) + 1)])
        else:
            content = english
    elif mode == "busy":  # HTTP 429 twice, then fine
        if n <= 2:
            return 429, {"error": {"message": "too many requests"}}, {"Retry-After": "0"}
        content = english
    elif mode == "error500":  # always HTTP 500
        return 500, {"error": {"message": "internal error"}}, {}
    elif mode == "malformed":  # two malformed bodies, then fine
        if n <= 2:
            return 200, "{\"choices\": [}", {}
        content = english
    elif mode == "malformed-always":
        return 200, {"object": "chat.completion", "choices": []}, {}
    elif mode == "auth":
        return 401, {"error": {"message": "invalid api key"}}, {}
    elif mode == "never-stops":  # honours max_tokens and no more, like a looping model
        words = ["again"] * int(body.get("max_tokens") or 10_000)
        content = " ".join(words)
        return 200, _chat(body, content, "length"), {}
    elif mode == "slow-after-3":  # three quick replies, then each takes a minute
        if n > 3:
            time.sleep(60)
        content = english
    else:  # "ok"
        content = english
    return 200, _chat(body, content, "stop"), {}


def _chat(body: dict, content: str, finish: str) -> dict:
    if "messages" not in body:
        return {"object": "text_completion", "model": body.get("model"),
                "choices": [{"index": 0, "text": content, "finish_reason": finish,
                             "logprobs": {"token_logprobs": [-0.1] * max(1, len(content.split()))}}]}
    logprobs = {"content": [{"token": w, "logprob": -0.2} for w in content.split()]}
    return {"object": "chat.completion", "model": body.get("model"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                         "finish_reason": finish, "logprobs": logprobs}]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode")
    parser.add_argument("--log", default="")
    parser.add_argument("--model", default="scripted-model")
    args = parser.parse_args()
    models = [m for m in args.model.split(",") if m]

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def _send(self, status, payload, headers=None):
            data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path.rstrip("/") == "/v1/models":
                if args.mode == "auth":
                    return self._send(401, {"error": {"message": "invalid api key"}})
                return self._send(200, {"object": "list", "data": [
                    {"id": m, "object": "model"} for m in models]})
            if self.path == "/props":  # as llama-server says it
                if args.mode == "no-template":
                    return self._send(200, {"chat_template": "", "total_slots": 1})
                return self._send(200, {"chat_template": "{{ messages }}", "total_slots": 3})
            self._send(404, {"error": {"message": "not found"}})

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            with LOCK:
                STATE["count"] += 1
                n = STATE["count"]
                if args.log:
                    with open(args.log, "a", encoding="utf-8") as fh:
                        record = dict(body, _path=self.path,
                                      _auth=self.headers.get("Authorization", ""))
                        fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            if self.path not in ("/v1/chat/completions", "/v1/completions"):
                return self._send(404, {"error": {"message": "not found"}})
            status, payload, headers = reply(args.mode, body, n)
            self._send(status, payload, headers)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
