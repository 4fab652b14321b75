"""Hostile input, sent byte for byte to a real server: no 5xx, and every refusal is a
JSON error naming the field (or header, path, method) to blame.

Also: foreign Host and Origin (DNS rebinding from a web page) get 403 on every route,
while loopback clients pass; the API docs load nothing from elsewhere and sit behind
the token; a request that stalls is cut off.
"""

from __future__ import annotations

import json
import socket
import time

import pytest

from backend_server import BackendServer, wait_for_job

JOB = "20260101T000000Z-0000abcd"  # well formed, not there


def _body(**fields) -> bytes:
    """A JSON body as Python writes it (NaN and Infinity allowed, surrogates escaped)."""
    return json.dumps({"prompt": "a man", **fields}).encode()


def _raw(text: str) -> bytes:
    return text.encode("utf-8", errors="surrogatepass")


# (method, path, extra headers, body, expected status, expected field)
CASES: list[tuple[str, str, dict[str, bytes], bytes | None, int, str | None]] = []


def case(method, path, body=None, status=422, field=None, **headers):
    CASES.append((method, path, {k.replace("_", "-"): v for k, v in headers.items()}, body,
                  status, field))  # fmt: skip


# Numbers outside what JSON or the field allows.
for value in ("NaN", "Infinity", "-Infinity", "1e309", "-1", "4294967296", "1e20", "1.5",
              '"5"', "true", "[]", "{}"):  # fmt: skip
    case("POST", "/v1/jobs", b'{"prompt": "a man", "seed": %s}' % value.encode(), field="seed")
for value in ("NaN", "1e309", "0", "17", "-3", "2.5", '"2"', "null"):
    case("POST", "/v1/jobs", b'{"prompt": "a", "variants": %s}' % value.encode(),
         field="variants")  # fmt: skip
for value in ("NaN", "Infinity", "-1", "10.5", "1e309"):
    case("POST", "/v1/jobs", b'{"prompt": "a", "edit_scale": %s}' % value.encode(),
         field="edit_scale")  # fmt: skip
for value in ("NaN", "512", "0", "1e309", '"1024px"'):
    case("POST", "/v1/jobs", b'{"prompt": "a", "texture_size": %s}' % value.encode(),
         field="texture_size")  # fmt: skip
for value in ("-1", "1e309", "NaN"):
    case("GET", f"/v1/jobs?offset={value}", field="offset")
for value in ("0", "201", "abc", "1e3"):
    case("GET", f"/v1/jobs?limit={value}", field="limit")

# Text that is not text, or shows nothing.
for field in ("prompt", "negative_prompt", "instruction"):
    for text in ("\ud800", "a\udfffb", "\x00", "x\x1b[31m", "\x7f"):
        case("POST", "/v1/jobs", json.dumps({"prompt": "a man", field: text}).encode(),
             field=field)  # fmt: skip
for text in ("", "   ", "\u200b\u200c\u200d", "\ufeff\u2060", "\u202e", "\t\n", "x" * 2001):
    case("POST", "/v1/jobs", _raw(json.dumps({"prompt": text})), field="prompt")
for text in ("\ud83d", "\U0010ffff\ud800"):
    case("POST", "/v1/jobs", json.dumps({"prompt": text}).encode(), field="prompt")

# Choices, names and shapes that are not ours.
for fields, field in [
    ({"kind": "\ud800"}, "kind"), ({"kind": "batch"}, "kind"),
    ({"mode": "sculpt\x00"}, "mode"), ({"mode": "photo"}, "mode"),
    ({"quality": "DRAFT"}, "quality"), ({"quality": "test"}, "quality"),
    ({"parent_id": "../../etc"}, "parent_id"), ({"parent_id": "\ud800"}, "parent_id"),
    ({"parent_id": JOB + "\n"}, "parent_id"), ({"models": {"evil": "x"}}, "models.evil"),
    ({"models": {"base_model": "x" * 1001}}, "models.base_model"),
    ({"models": {"\ud800": "x"}}, "models."), ({"models": []}, "models"),
    ({"__proto__": {"admin": True}}, "__proto__"), ({"colour": "red"}, "colour"),
    ({"prompt": ["a", "b"]}, "prompt"), ({"prompt": {"text": "a"}}, "prompt"),
    ({"prompt": None}, "prompt"), ({"kind": "edit", "instruction": "older"}, "parent_id"),
]:  # fmt: skip
    case("POST", "/v1/jobs", json.dumps({"prompt": "a", **fields}).encode(), field=field)
for raw in (b"[]", b'"a man"', b"5", b"null", b"", b"{", b'{"prompt": "a"', b"\xff\xfe"):
    case("POST", "/v1/jobs", raw, status=(400, 422), field="body")
case("POST", "/v1/jobs", _raw('{"prompt": "\ud800"}'), field="prompt")  # not UTF-8
case("POST", "/v1/jobs", b'{"prompt": "a", "prompt": 5}', field="prompt")  # the last one counts
case("POST", "/v1/jobs", b"a" * 70_000, status=413, field="body")
case("POST", "/v1/jobs", _body(), status=(400, 422), field="body", content_type=b"text/plain")
case("POST", "/v1/jobs", '{"prompt": "caf\xe9"}'.encode("latin-1"), status=400, field="body")

# Paths: traversal, odd ids, unknown places.
for path, field, status in [
    ("/v1/jobs/..%2F..%2Fetc%2Fpasswd", "path", 404), (f"/v1/jobs/{JOB}%00", "job_id", 422),
    ("/v1/jobs/%ED%A0%80", "job_id", 422), ("/v1/jobs/" + "9" * 5000, "job_id", 422),
    (f"/v1/jobs/{JOB}/files/..%2Fstatus.json", "path", 404), (f"/v1/jobs/{JOB}", "job_id", 404),
    (f"/v1/jobs/{JOB}/files/head.glb", "job_id", 404), ("/v1/nope", "path", 404),
    ("/", "path", 404), ("/v1/jobs/../../etc/passwd", "path", 404), ("/%00", "path", 404),
    ("/v1/docs/../openapi.json", "path", 404), ("/v1/jobs?offset=%ED%A0%80", "offset", 422),
]:  # fmt: skip
    case("GET", path, status=status, field=field)
case("POST", f"/v1/jobs/{JOB}/cancel", status=404, field="job_id")
case("DELETE", f"/v1/jobs/{JOB}", status=404, field="job_id")

# Methods.
for method, path in [("PUT", "/v1/jobs"), ("PATCH", "/v1/jobs"), ("DELETE", "/v1/jobs"),
                     ("TRACE", "/v1/health"), ("PROPFIND", "/v1/jobs"), ("POST", "/v1/health"),
                     ("FOO", "/v1/jobs"), ("GET", f"/v1/jobs/{JOB}/cancel")]:  # fmt: skip
    case(method, path, status=405, field="method")

# Headers: foreign Host and Origin, broken authorization, malformed HTTP.
for host in (b"evil.example", b"evil.example:7860", b"127.0.0.1.evil.example",
             b"localhost.evil.example", b"0.0.0.0", b"[::ffff:7f00:1]x"):  # fmt: skip
    case("GET", "/v1/health", status=403, field="host", host=host)
for origin in (b"http://evil.example", b"null", b"http://127.0.0.1.evil.example:80",
               b"https://localhost.evil.example"):  # fmt: skip
    case("POST", "/v1/jobs", _body(), status=403, field="origin", origin=origin)
for authorization in (b"Bearer \xff\xfe", "Bearer caf\u00e9".encode(), b"Basic Zm9vOmJhcg==",
                      b"Bearer", b"Bearer " + b"x" * 4000):  # fmt: skip
    case("GET", "/v1/health", status=200, field=None, authorization=authorization)
case("GET", "/v1/health", status=400, field="request", content_length=b"abc")
case("POST", "/v1/jobs", _body(), status=400, field="request", content_length=b"-5")
case("GET", "/v1/health", status=400, field="request", x_bad=b"a\x00b")


def _send(port: int, method: str, path: str, headers: dict[str, bytes], body: bytes | None,
          host: bytes | None = None) -> tuple[int, dict, bytes]:  # fmt: skip
    """One request as raw bytes; (status, headers, body)."""
    lines = [f"{method} {path} HTTP/1.1".encode("latin-1", errors="replace")]
    merged = {"host": host or f"127.0.0.1:{port}".encode(), "connection": b"close", **headers}
    if body is not None and "content-length" not in merged:
        merged["content-length"] = str(len(body)).encode()
        merged.setdefault("content-type", b"application/json")
    lines += [name.encode() + b": " + value for name, value in merged.items()]
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + (body or b""))
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head, _, payload = received.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    fields = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:] if b": " in line)
    return status, {k.decode("latin-1").lower(): v for k, v in fields.items()}, payload


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with BackendServer(tmp_path_factory.mktemp("hostile")) as running:
        yield running


def test_there_are_over_a_hundred_distinct_hostile_requests():
    distinct = {(m, p, tuple(sorted(h.items())), b) for m, p, h, b, _, _ in CASES}
    assert len(distinct) == len(CASES) >= 100


@pytest.mark.parametrize(("method", "path", "headers", "body", "status", "field"), CASES)
def test_hostile_requests_get_json_4xx_naming_the_field(
    server, method, path, headers, body, status, field
):
    port = int(server.url.rsplit(":", 1)[1])
    answer, response_headers, payload = _send(port, method, path, headers, body)
    assert answer < 500, payload
    assert answer in (status if isinstance(status, tuple) else (status,)), payload
    if answer == 200:
        return
    assert response_headers["content-type"].startswith(b"application/json"), payload
    error = json.loads(payload)
    named = error["field"] == field or (field.endswith(".") and error["field"].startswith(field))
    assert error["error"] and named, error  # "models." : some key of models
    for secret in (b"\xff\xfe", b"evil.example:7860"):  # nothing echoed back raw
        assert secret not in payload or field in ("host", "origin")


def test_every_route_refuses_a_foreign_host_and_loopback_names_pass(server):
    port = int(server.url.rsplit(":", 1)[1])
    with server.client() as client:
        job = client.post("/v1/jobs", json={"prompt": "a man", "quality": "draft"}).json()["id"]
        wait_for_job(client, job)
    routes = [("GET", "/v1/health"), ("GET", "/v1/jobs"), ("POST", "/v1/jobs"),
              ("GET", f"/v1/jobs/{job}"), ("GET", f"/v1/jobs/{job}/files/head.glb"),
              ("POST", f"/v1/jobs/{job}/cancel"), ("GET", "/v1/docs"),
              ("GET", "/v1/openapi.json"), ("GET", "/nowhere"),
              ("DELETE", f"/v1/jobs/{job}")]  # fmt: skip
    for method, path in routes:
        body = _body() if method == "POST" and path == "/v1/jobs" else None
        status, _, payload = _send(port, method, path, {}, body, host=b"attacker.example")
        assert status == 403 and json.loads(payload)["field"] == "host", (method, path)
        status, _, _ = _send(port, method, path, {"origin": b"http://attacker.example"}, body)
        assert status == 403, (method, path)
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost", f"[::1]:{port}",
                 f"127.0.0.2:{port}"):  # fmt: skip
        assert _send(port, "GET", "/v1/health", {}, None, host=host.encode())[0] == 200
    same_origin = {"origin": f"http://localhost:{port}".encode()}
    assert _send(port, "GET", "/v1/health", same_origin, None)[0] == 200
    assert _send(port, "GET", f"/v1/jobs/{job}", {}, None)[0] == 200  # not deleted above


def test_docs_are_self_contained_and_behind_the_token(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("t" * 40)
    token_file.chmod(0o600)
    with BackendServer(tmp_path, "--token-file", str(token_file), token="t" * 40) as server:
        with server.client() as client:
            page = client.get("/v1/docs")
            assert page.status_code == 200 and "/v1/jobs" in page.text
            assert "http://" not in page.text and "https://" not in page.text
            assert "<script" not in page.text and "<link" not in page.text
            assert client.get("/v1/openapi.json").json()["paths"]["/v1/jobs"]
        with server.client(token="wrong" * 8) as stranger:
            for path in ("/v1/docs", "/v1/openapi.json"):
                assert stranger.get(path).status_code == 401
        port = int(server.url.rsplit(":", 1)[1])
        for authorization in (b"Bearer \xff\xfe" + b"t" * 38, "Bearer t\u00e9".encode(),
                              b"Bearer " + b"t" * 39, b"Bearer " + b"t" * 41,
                              b"t" * 40):  # fmt: skip
            status, _, payload = _send(port, "GET", "/v1/health",
                                       {"authorization": authorization}, None)  # fmt: skip
            assert status == 401 and json.loads(payload)["field"] == "authorization"


def test_a_stalled_request_is_cut_off(server):
    port = int(server.url.rsplit(":", 1)[1])
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=60) as silent:
        assert silent.recv(1) == b""  # sends nothing: closed by the server
    with socket.create_connection(("127.0.0.1", port), timeout=60) as stalled:
        stalled.sendall(b"POST /v1/jobs HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 100\r\n"
                        b"content-type: application/json\r\n\r\n{\"prompt\"")  # fmt: skip
        answer = stalled.recv(65536)
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            answer += stalled.recv(65536)  # the body may come in a segment of its own
    assert b" 408 " in answer.split(b"\r\n", 1)[0] and b'"field":"body"' in answer
    assert time.monotonic() - started < 60  # a guard against hanging, not a speed test
