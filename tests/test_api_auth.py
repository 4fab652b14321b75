"""Auth exactly as documented (docs/server.md), in process so the mutation runs see it:
a token file turns auth on (loopback too), any other bind needs one, only the exact
token passes, and token files that are short, unreadable or readable by others are
refused. The HTTP tests (test_server_hostile.py) check the same through a real server."""

from __future__ import annotations

import stat

import pytest
from fastapi.testclient import TestClient

from headsculpt.api.app import MAX_BODY_BYTES, create_app
from headsculpt.api.job_store import JobStore
from headsculpt.api.runner import JobRunner
from headsculpt.api.serve import is_loopback, load_or_create_token, server_token

TOKEN = "s3cret-token-" + "x" * 20


@pytest.fixture
def client(tmp_path):
    store = JobStore(tmp_path / "data")
    app = create_app(store, JobRunner(store, {}), token=TOKEN)
    with TestClient(app, base_url="http://127.0.0.1") as http:
        yield http


@pytest.mark.parametrize(
    ("header", "status"),
    [
        (None, 401), (f"Bearer {TOKEN}", 200), (f"bearer {TOKEN}", 200),
        (f"Bearer {TOKEN[:-1]}", 401), (f"Bearer {TOKEN}x", 401), (f"Bearer {TOKEN[:16]}", 401),
        (f"Basic {TOKEN}", 401), (TOKEN, 401), ("Bearer ", 401), (f"Bearer {TOKEN.upper()}", 401),
    ],
)  # fmt: skip
def test_only_the_exact_bearer_token_passes(client, header, status):
    headers = {} if header is None else {"Authorization": header}
    response = client.get("/v1/health", headers=headers)
    assert response.status_code == status
    if status == 401:
        assert response.json()["field"] == "authorization"


def test_without_a_token_loopback_needs_no_header(tmp_path):
    store = JobStore(tmp_path / "data")
    with TestClient(create_app(store, JobRunner(store, {})), base_url="http://127.0.0.1") as http:
        assert http.get("/v1/health").status_code == 200


def test_a_token_file_turns_auth_on_even_on_loopback(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    assert server_token("127.0.0.1", token_file) == TOKEN
    assert server_token("0.0.0.0", token_file) == TOKEN
    assert server_token("127.0.0.1", None) is None
    assert server_token("localhost", None) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "example.org"])
def test_any_other_bind_without_a_token_file_is_refused(host):
    assert not is_loopback(host)
    with pytest.raises(ValueError, match="--token-file"):
        server_token(host, None)


def test_a_missing_token_file_gets_a_new_private_token(tmp_path):
    token_file = tmp_path / "sub" / "token"
    token, created = load_or_create_token(token_file)
    assert created and len(token) >= 32
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert load_or_create_token(token_file) == (token, False)  # read back, not remade


@pytest.mark.parametrize(
    ("content", "mode", "message"),
    [
        ("short", 0o600, "no usable token"), ("", 0o600, "no usable token"),
        ("x" * 15, 0o600, "no usable token"), ("tök" + "x" * 20, 0o600, "no usable token"),
        (TOKEN, 0o644, "other users"), (TOKEN, 0o640, "other users"),
    ],
)  # fmt: skip
def test_bad_token_files_are_refused_naming_the_option(tmp_path, content, mode, message):
    token_file = tmp_path / "token"
    token_file.write_text(content, encoding="utf-8")
    token_file.chmod(mode)
    with pytest.raises(ValueError, match=message) as error:
        load_or_create_token(token_file)
    assert str(error.value).startswith("--token-file")


def test_a_token_of_exactly_sixteen_characters_is_enough(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("x" * 16)
    token_file.chmod(0o600)
    assert load_or_create_token(token_file) == ("x" * 16, False)


def test_a_folder_or_undecodable_file_is_not_a_token_file(tmp_path):
    with pytest.raises(ValueError, match="not a file"):
        load_or_create_token(tmp_path)
    token_file = tmp_path / "token"
    token_file.write_bytes(b"\xff\xfe" + b"x" * 30)
    token_file.chmod(0o600)
    with pytest.raises(ValueError, match="cannot be read"):
        load_or_create_token(token_file)


def test_a_new_token_is_written_beside_existing_files_or_in_new_folders(tmp_path, capsys):
    beside = tmp_path / "token"  # the folder exists already
    token = server_token("0.0.0.0", beside)
    assert len(token) == 43  # 32 random bytes, URL-safe base64
    assert beside.read_text() == token + "\n"
    captured = capsys.readouterr()
    assert captured.err.strip() == f"wrote a new token to {beside}" and captured.out == ""
    nested, _ = load_or_create_token(tmp_path / "a" / "b" / "token")
    assert (tmp_path / "a" / "b" / "token").read_text().strip() == nested != token


def test_the_refusal_says_how_to_get_a_token(tmp_path):
    with pytest.raises(ValueError) as error:
        server_token("0.0.0.0", None)
    assert "pass --token-file F (a token is generated into F when it does not exist)" in str(
        error.value
    )


# --- who may talk to it: Host and Origin (DNS rebinding), body limits ----------------------
@pytest.fixture
def open_app(tmp_path):
    store = JobStore(tmp_path / "data")
    return create_app(store, JobRunner(store, {}))


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("127.0.0.1:8765", 200), ("localhost:8765", 200), ("LOCALHOST", 200),
        ("[::1]:8765", 200), ("127.0.0.2", 200), ("evil.example:8765", 403),
        ("evil.example", 403), ("[2001:db8::1]:80", 403), ("", 403), ("10.0.0.5:8765", 403),
    ],
)  # fmt: skip
def test_a_foreign_host_name_is_refused_before_any_route(open_app, host, status):
    with TestClient(open_app, base_url="http://127.0.0.1") as http:
        response = http.get("/v1/health", headers={"Host": host})
    assert response.status_code == status, response.text
    if status == 403:
        assert response.json()["field"] == "host"


@pytest.mark.parametrize(
    ("origin", "status"),
    [
        ("http://127.0.0.1:8765", 200), ("http://localhost:3000", 200),
        ("http://evil.example", 403), ("https://evil.example:8765", 403),
    ],
)  # fmt: skip
def test_a_page_from_another_origin_is_refused(open_app, origin, status):
    with TestClient(open_app, base_url="http://127.0.0.1:8765") as http:
        response = http.get("/v1/health", headers={"Origin": origin})
    assert response.status_code == status, response.text
    if status == 403:
        body = response.json()
        assert body["field"] == "origin" and "evil.example" in body["error"]


def test_any_host_passes_where_the_bind_is_a_wildcard(tmp_path):
    store = JobStore(tmp_path / "data")
    app = create_app(store, JobRunner(store, {}), allowed_hosts=None)
    with TestClient(app, base_url="http://127.0.0.1") as http:
        assert http.get("/v1/health", headers={"Host": "evil.example"}).status_code == 200


def test_a_body_over_the_limit_is_refused_naming_the_body(open_app):
    with TestClient(open_app, base_url="http://127.0.0.1") as http:
        huge = http.post("/v1/jobs", content=b"{" + b" " * MAX_BODY_BYTES + b"}",
                         headers={"Content-Type": "application/json"})  # fmt: skip
        small = http.post("/v1/jobs", json={"prompt": 5})
    assert huge.status_code == 413 and huge.json()["field"] == "body"
    assert small.status_code == 422 and small.json()["field"] == "prompt"
