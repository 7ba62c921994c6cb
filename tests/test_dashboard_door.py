"""The dashboard's door (issue 12): token on non-loopback binds, ``Host``/``Origin`` allow-list,
no Jupyter REST API and no code execution over the kernel websocket, and data roots.

The live tests start ``adaft dashboard`` like ``test_dashboard_browser`` does (a temporary runs
folder, a free port) and talk HTTP/websocket to it; only one of them loads the page (one kernel).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import uuid
from pathlib import Path

import pytest
from dashboard_server import start_dashboard, stop_dashboard

from adaft_core import cli
from adaft_core.store.data_roots import ROOTS_ENV, check_eval_source, check_source, resolve_roots
from adaft_core.errors import ConfigError
from adaft_dashboard.server import serve

FAKE_KERNEL = "00000000-0000-0000-0000-000000000000"
CULL_IDLE = 4  # seconds: longer than the header's refresh (2 s), which kept Jupyter's culler away
POOL = 1  # adaft dashboard's pre-heated kernels (--preheat): part of the baseline, never culled
PAGE_LOADS = 20  # issue 12: after 20 page loads and closes the kernels are back to the baseline


# ------------------------------------------------------------------ the door, without a server
def test_non_loopback_bind_needs_a_token_or_password(capsys, tmp_path):
    assert cli.main(["dashboard", "--runs", str(tmp_path / "runs"), "--ip", "0.0.0.0", "--token", ""]) == 2
    err = capsys.readouterr().err
    assert "needs a token or a password" in err and err.count("\n") == 1  # one message, no traceback
    assert not (tmp_path / "runs").exists()  # refused before anything is set up
    generated = serve.check_door("0.0.0.0", None)
    assert len(generated) >= 40 and generated != serve.check_door("0.0.0.0", None)  # random, long
    assert serve.check_door("192.168.1.5", "given") == "given"
    assert serve.check_door("0.0.0.0", "", hashed_password="argon2:x") == ""  # the password guards it
    assert serve.check_door("127.0.0.1", None) == "" and serve.check_door("::1", "") == ""


def test_voila_config_checks_host_and_origin():
    config = serve.voila_config("tok", allow_origins=("team.example.org", "https://dash.example.org:8443/"))
    tornado = config["Voila"]["tornado_settings"]
    assert config["Voila"]["token"] == "tok" and tornado["allow_remote_access"] is False
    assert tornado["local_hostnames"] == ["localhost", "team.example.org", "dash.example.org"]
    assert tornado["allow_origin_pat"] == r"^(https://dash\.example\.org:8443)$"
    assert serve.voila_config()["Voila"]["tornado_settings"] == {"allow_remote_access": False,
                                                                   "local_hostnames": ["localhost"]}
    with pytest.raises(ConfigError, match="allow-origin"):
        serve.allowed_hosts(["evil.org/<script>"])
    with pytest.raises(ConfigError, match="host name"):  # an IP Host is refused by Jupyter's check anyway
        serve.allowed_hosts(["10.0.0.5"])


# ------------------------------------------------------------------ data roots
def test_a_dataset_outside_the_roots_is_refused_without_saying_whether_it_exists(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "elsewhere"
    (root / "conll").mkdir(parents=True)
    outside.mkdir()
    (outside / "train.txt").write_text("SECRET-LINE not a valid line\n")
    roots = resolve_roots([root])
    messages = []
    for path in (outside / "train.txt", outside / "missing.txt", root / ".." / "elsewhere"):
        with pytest.raises(ConfigError) as info:
            check_source(str(path), roots)
        assert info.value.setting == "data" and "SECRET" not in str(info.value)
        messages.append(str(info.value).replace(str(path), "PATH"))
    assert messages[0] == messages[1] == messages[2]  # an existing and a missing path read the same
    assert check_source("conll", roots) == str(root / "conll")  # relative to the first root, absolute
    assert check_source(str(root / "conll"), roots) == str(root / "conll")
    for name in ("wikigold", "hf:conll2003", "glue/rte", "super_glue/boolq"):
        assert check_source(name, roots) == name
    (root / "link").symlink_to(outside)  # a link out of a root does not open it
    with pytest.raises(ConfigError):
        check_source(str(root / "link"), roots)
    assert check_eval_source("ood=conll@test", roots) == f"ood={root / 'conll'}@test"
    with pytest.raises(ConfigError) as info:
        check_eval_source(f"ood={outside}@test", roots)
    assert info.value.setting == "eval_data"
    assert check_source(str(outside), None) == str(outside)  # no roots set: a notebook user's own App


def test_the_form_refuses_data_outside_the_roots_and_run_names_that_leave_the_runs_folder(monkeypatch, tmp_path):
    pytest.importorskip("ipywidgets")
    from adaft_dashboard.launch.form import RunForm

    root, outside = tmp_path / "root", tmp_path / "elsewhere"
    root.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_text("SECRET-LINE\n")
    monkeypatch.setenv(ROOTS_ENV, str(root))
    form = RunForm(tmp_path / "runs", make_sinks=list)
    for source in (str(outside / "secret.txt"), str(outside / "nothing-here")):
        form.fields["data"].value = source
        assert form.validate() is None
        shown = form.errors["data"].value
        assert "data roots" in shown and "SECRET" not in shown
    form.fields["data"].value = "wikigold"
    for bad in ("../escape", "/etc/x", "a/b", ".hidden"):
        form.fields["run_name"].value = bad
        assert form.validate() is None and "run name" in form.errors["run_name"].value
    form.fields["run_name"].value = "ok-name_1.2"
    assert form.validate() is not None


# ------------------------------------------------------------------ a live server
def start_server(tmp_path: Path, *args: str):
    return start_dashboard(tmp_path, tmp_path / "runs", *args)


def get(port: int, path: str, host: str | None = None, headers: dict | None = None) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("GET", path, headers={"Host": host or f"127.0.0.1:{port}", **(headers or {})})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), body


@pytest.fixture(scope="module")
def open_server(tmp_path_factory):
    pytest.importorskip("voila")
    tmp = tmp_path_factory.mktemp("door")
    proc, port, log = start_server(tmp)
    yield port, tmp
    stop_dashboard(proc, log)


def test_a_foreign_host_is_refused_and_loopback_names_are_served(open_server):
    port, _ = open_server
    probe = f"/api/kernels/{FAKE_KERNEL}"  # a Jupyter handler that starts nothing: 404 once past the door
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"):
        assert get(port, probe, host)[0] == 404, host
    for host in (f"evil.example.com:{port}", "attacker.test", f"10.1.2.3:{port}"):
        assert get(port, probe, host)[0] in (400, 403), host


def test_plotly_bundle_is_served_once_behind_the_same_host_check(open_server):
    port, _ = open_server
    status, headers, body = get(port, "/voila/labextensions/widgetbundle.js")  # what every figure imports
    assert status == 200 and len(body) > 1_000_000 and "javascript" in headers.get("Content-Type", "")
    assert get(port, "/voila/labextensions/widgetbundle.js", f"evil.example.com:{port}")[0] in (400, 403)
    assert get(port, "/voila/labextensions/../../plotly/__init__.py")[0] in (403, 404)


def test_no_jupyter_rest_api(open_server):
    port, _ = open_server
    for path in ("/api/kernels", "/api/contents", "/api/terminals", "/api/sessions", "/api/contents/etc/passwd"):
        status, headers, body = get(port, path)
        assert status != 200 and b'"id"' not in body and b"root:" not in body, path
        assert "/api/" not in headers.get("Location", "").replace("/voila/files/api/", ""), path


async def _try_execute(url: str, origin: str, marker: Path) -> list[str]:
    """Send an execute_request (writing ``marker``), then a kernel_info_request; the message types
    received until its reply (the kernel answers shell messages in order)."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    ws = await websocket_connect(HTTPRequest(url, headers={"Origin": origin}))
    session = uuid.uuid4().hex

    def message(msg_type: str, content: dict) -> str:
        header = {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "session": session, "username": "t",
                  "date": "2026-01-01T00:00:00Z", "version": "5.3"}
        return json.dumps({"header": header, "parent_header": {}, "metadata": {}, "content": content,
                           "channel": "shell", "buffers": []}), header["msg_id"]

    code = f"open({str(marker)!r}, 'w').write('executed')"
    text, _ = message("execute_request", {"code": code, "silent": False, "store_history": False,
                                          "user_expressions": {}, "allow_stdin": False, "stop_on_error": True})
    await ws.write_message(text)
    text, info_id = message("kernel_info_request", {})
    await ws.write_message(text)
    seen = []
    while True:
        raw = await asyncio.wait_for(ws.read_message(), 60)
        assert raw is not None, "the kernel websocket closed"
        msg = json.loads(raw)
        seen.append(msg["header"]["msg_type"])
        if msg["header"]["msg_type"] == "kernel_info_reply" and msg["parent_header"].get("msg_id") == info_id:
            ws.close()
            return seen


def test_no_code_execution_over_the_kernel_websocket_and_no_foreign_origin(open_server):
    port, tmp = open_server
    status, _, page = get(port, "/")
    assert status == 200
    kernel = json.loads(page.split(b'"kernelId": ', 1)[1].split(b",", 1)[0].split(b"}", 1)[0])
    url = f"ws://127.0.0.1:{port}/api/kernels/{kernel}/channels"
    marker = tmp / "executed.txt"
    seen = asyncio.run(_try_execute(url, f"http://127.0.0.1:{port}", marker))
    assert "execute_reply" not in seen and "execute_input" not in seen and not marker.exists()
    # a page on another site cannot open the page kernel's websocket (Origin is not this host)
    from tornado.websocket import WebSocketError
    from tornado.httpclient import HTTPClientError

    with pytest.raises((HTTPClientError, WebSocketError)) as info:
        asyncio.run(_try_execute(url, "http://evil.example.com", marker))
    assert getattr(info.value, "code", 403) == 403


def test_a_token_guards_the_server(tmp_path):
    pytest.importorskip("voila")
    proc, port, log = start_server(tmp_path, "--token", "sekret-token", "--allow-origin", "team.example.org")
    try:
        probe = f"/api/kernels/{FAKE_KERNEL}"
        assert get(port, probe)[0] == 403  # no token
        assert get(port, probe + "?token=wrong")[0] == 403
        assert get(port, probe + "?token=sekret-token")[0] == 404  # past the door
        assert get(port, probe, headers={"Authorization": "token sekret-token"})[0] == 404
        assert get(port, probe + "?token=sekret-token", host=f"team.example.org:{port}")[0] == 404
        assert get(port, probe + "?token=sekret-token", host=f"evil.example.com:{port}")[0] in (400, 403)
    finally:
        stop_dashboard(proc, log)
    printed = (tmp_path / f"server-{port}.log").read_text()
    assert f"http://127.0.0.1:{port}/?token=sekret-token" in printed


# ------------------------------------------------------------------ kernels are freed and bounded
def test_cull_due_counts_from_when_no_page_is_connected():
    from adaft_dashboard.server.kernels import cull_due

    assert cull_due(1, False, 5.0, 100.0, 10) == (False, None)  # a page is open: kept, count restarts
    assert cull_due(0, True, 5.0, 100.0, 10) == (False, None)  # busy (rendering a page request)
    assert cull_due(0, False, None, 100.0, 10) == (False, 100.0)  # just became unwatched
    assert cull_due(0, False, 100.0, 109.0, 10) == (False, 100.0)
    assert cull_due(0, False, 100.0, 110.0, 10) == (True, 100.0)  # whatever it sent meanwhile


def kernel_ids(server_pid: int) -> set[str]:
    """The ids of the kernel processes the server started (its children running ipykernel, whose
    connection file is named after the kernel)."""
    ids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == server_pid and b"ipykernel" in cmdline:
            name = next((a for a in cmdline.split(b"\0") if a.endswith(b".json")), b"")
            ids.add(Path(name.decode()).stem.removeprefix("kernel-"))
    return ids


def kernel_count(server_pid: int) -> int:
    return len(kernel_ids(server_pid))


def poll(predicate, timeout: float, what: str):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)  # a bounded poll of the process table, not a fixed wait
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def wait_for_the_pool(proc, tmp_path: Path, port: int) -> None:
    """The baseline: the pre-heated kernel started *and registered by the server*. Its process
    appears seconds before Voila knows the notebook it pre-heats ("Kernel pool of … is filled" in
    the log); a page requested in between gets a kernel of its own (Voila's rule), which is not
    what these tests look at."""
    log = tmp_path / f"server-{port}.log"
    poll(lambda: "is filled with" in log.read_text() and kernel_count(proc.pid) == POOL, 60,
         "the pre-heated kernel")


def page_kernel(port: int) -> str:
    status, _, page = get(port, "/")
    assert status == 200, page[:500]
    return json.loads(page.split(b'"kernelId": ', 1)[1].split(b",", 1)[0].split(b"}", 1)[0])


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="counts kernel processes in /proc")
def test_closed_pages_kernels_are_freed_and_their_number_is_bounded(tmp_path):
    pytest.importorskip("voila")
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    proc, port, log = start_server(tmp_path, "--cull-idle", str(CULL_IDLE), "--max-kernels", "1")  # and --preheat 1
    try:
        async def connect():
            kernel = page_kernel(port)
            url = f"ws://127.0.0.1:{port}/api/kernels/{kernel}/channels"
            return await websocket_connect(HTTPRequest(url, headers={"Origin": f"http://127.0.0.1:{port}"})), kernel

        async def open_and_close_page():
            ws, kernel = await connect()
            await asyncio.wait_for(ws.read_message(), 30)  # the live page talks (status, widget updates)
            ws.close()
            return kernel

        # the baseline: no page, one pre-heated kernel waiting for the next page (never culled)
        wait_for_the_pool(proc, tmp_path, port)
        pooled = kernel_ids(proc.pid)
        for _ in range(PAGE_LOADS):  # a page loaded, connected and closed: freed within the cull interval
            page = asyncio.run(open_and_close_page())
            assert page in pooled  # the page got the pre-heated kernel; the pool refills
            poll(lambda: page not in kernel_ids(proc.pid) and kernel_count(proc.pid) == POOL, 60,
                 "the closed page's kernel to be culled and the pool refilled")
            pooled = kernel_ids(proc.pid)

        async def held_page():
            ws, kernel = await connect()
            await asyncio.sleep(CULL_IDLE + 2)  # two cull intervals past the idle timeout: an open page is kept
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, poll, lambda: kernel_count(proc.pid) == 1 + POOL, 60, "the pool refill")
            kept = kernel in kernel_ids(proc.pid)
            status, _, body = await loop.run_in_executor(None, get, port, "/")
            ws.close()
            return kept, status, body

        kept, status, body = asyncio.run(held_page())
        assert kept  # the open page's kernel is kept (and the refilled pool waits beside it)
        assert status == 503 and b"max-kernels" in body  # the bound, said on the page: no pooled kernel handed out
        poll(lambda: kernel_count(proc.pid) == POOL, 60, "the page's kernel to be culled once closed")
        page_kernel(port)  # room again
    finally:
        stop_dashboard(proc, log)


# ------------------------------------------------------------------ every route, listed from the server's own handlers
TOKEN = "door-token"
EVIL = "http://evil.example.com"


def door_routes() -> list[tuple]:
    """The routes ``adaft dashboard --token TOKEN`` serves (pre-heating on: /voila/query too)."""
    from traitlets.config import Config

    from adaft_dashboard.server import door

    return door.routes(serve.voila_argv(preheat=1), Config(serve.voila_config(TOKEN)))


def sample_path(pattern: str) -> str:
    """A path that ``pattern`` (a route's regex) matches: a kernel id where it wants one, else ``x``."""
    import re

    path = re.sub(r"\(\?P<kernel_id>[^)]*\)", FAKE_KERNEL, pattern)
    path = re.sub(r"\([^)]*\)", "x", path)
    assert re.fullmatch(pattern, path), (pattern, path)
    return path


def is_websocket(handler: type) -> bool:
    from tornado.websocket import WebSocketHandler

    return issubclass(handler, WebSocketHandler)


def test_every_route_is_behind_the_door():
    pytest.importorskip("voila")
    from jupyter_server.base.handlers import JupyterHandler

    from adaft_dashboard.server.door import Door, KernelQuerySocket

    routes = door_routes()
    patterns = [r[0] for r in routes]
    assert any("/voila/query/" in p for p in patterns) and "/logout" not in patterns and "/login" in patterns
    for pattern, handler, *_ in routes:
        assert handler.__mro__[1] is Door and issubclass(handler, JupyterHandler), pattern
    query = [h for p, h, *_ in routes if "/voila/query/" in p]
    assert issubclass(query[0], KernelQuerySocket)  # Voila's own handler is replaced, not kept beside


@pytest.fixture(scope="module")
def token_server(tmp_path_factory):
    pytest.importorskip("voila")
    tmp = tmp_path_factory.mktemp("door-token")
    proc, port, log = start_server(tmp, "--token", TOKEN)
    yield port, tmp / f"server-{port}.log"
    stop_dashboard(proc, log)


async def _ws_status(url: str, headers: dict) -> int:
    """101 if the websocket opens, else the HTTP status it was refused with."""
    from tornado.httpclient import HTTPClientError, HTTPRequest
    from tornado.websocket import websocket_connect

    try:
        ws = await websocket_connect(HTTPRequest(url, headers=headers))
    except HTTPClientError as exc:
        return exc.code
    ws.close()
    return 101


def test_every_route_refuses_a_foreign_host_or_origin_even_with_the_token_and_never_fails(token_server):
    """Issue 24 item 2: a route a new Voila or Jupyter server adds is tested here by default."""
    port, log_path = token_server
    for pattern, handler, *_ in door_routes():
        path = sample_path(pattern)
        with_token = f"{path}?token={TOKEN}"
        assert get(port, with_token, host=f"evil.example.com:{port}")[0] == 403, pattern
        assert get(port, with_token, headers={"Origin": EVIL})[0] == 403, pattern
        for probe in (with_token, path):  # past the door, or refused by the login: never a server error
            assert get(port, probe)[0] < 500, (pattern, probe)
        if is_websocket(handler):
            url = f"ws://127.0.0.1:{port}{with_token}"
            assert asyncio.run(_ws_status(url, {"Origin": EVIL})) == 403, pattern
            assert asyncio.run(_ws_status(url, {"Host": f"evil.example.com:{port}"})) == 403, pattern
    assert get(port, "/logout?token=" + TOKEN)[0] in (302, 403, 404)  # Jupyter's /logout is not served
    log = log_path.read_text()
    assert "Traceback" not in log and "Uncaught exception" not in log, log[-3000:]


def test_the_page_kernel_websocket_refuses_a_foreign_origin_with_the_token(token_server):
    """Issue 24 item 2's reproduction: ``?token=T`` and ``Origin: http://evil.example`` on a real kernel."""
    port, _ = token_server
    status, _, page = get(port, f"/?token={TOKEN}")
    assert status == 200
    kernel = json.loads(page.split(b'"kernelId": ', 1)[1].split(b",", 1)[0].split(b"}", 1)[0])
    url = f"ws://127.0.0.1:{port}/api/kernels/{kernel}/channels?token={TOKEN}"
    assert asyncio.run(_ws_status(url, {"Origin": EVIL})) == 403
    assert asyncio.run(_ws_status(url, {"Origin": f"http://127.0.0.1:{port}"})) == 101  # the page's own origin


def connection_key(server_pid: int, kernel_id: str) -> bytes:
    """The kernel's connection key, from the connection file on its command line."""
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        name = next((a for a in cmdline if a.endswith(f"kernel-{kernel_id}.json".encode())), None)
        if name:
            return json.loads(Path(name.decode()).read_text())["key"].encode()
    raise AssertionError(f"no kernel {kernel_id} among the server's processes")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads kernel command lines in /proc")
def test_voila_query_socket_answers_only_its_kernel(tmp_path):
    """Issue 22 item 3: ``/voila/query/KERNEL`` (the page request's details, with its ``?token=``)
    opens only with that kernel's proof; the pre-heated kernel itself reads it (no warning logged)."""
    pytest.importorskip("voila")
    from adaft_dashboard.server.page_kernel import PROOF_SCHEME, kernel_proof

    proc, port, log = start_server(tmp_path, "--token", TOKEN)
    try:
        wait_for_the_pool(proc, tmp_path, port)
        status, _, page = get(port, f"/?token={TOKEN}")
        kernel = json.loads(page.split(b'"kernelId": ', 1)[1].split(b",", 1)[0].split(b"}", 1)[0])
        key = connection_key(proc.pid, kernel)
        url = f"ws://127.0.0.1:{port}/voila/query/{kernel}"
        good = {"Authorization": f"{PROOF_SCHEME} {kernel_proof(key, kernel)}"}
        assert asyncio.run(_ws_status(url, good)) == 101
        for headers in ({}, {"Authorization": f"token {TOKEN}"}, {"Authorization": f"{PROOF_SCHEME} {'0' * 64}"},
                        {"Authorization": f"{PROOF_SCHEME} {kernel_proof(key, FAKE_KERNEL)}"}, {**good, "Origin": EVIL}):
            assert asyncio.run(_ws_status(url, headers)) == 403, headers
        assert asyncio.run(_ws_status(url + f"?token={TOKEN}", {})) == 403  # the page's token is not enough
    finally:
        stop_dashboard(proc, log)
    printed = (tmp_path / f"server-{port}.log").read_text()
    assert "could not read its page request" not in printed and "Traceback" not in printed, printed[-3000:]


# ------------------------------------------------------------------ page loads cannot exhaust --max-kernels
GRACE = 4  # --cull-idle in the load test: a page's kernel lives this long (plus one check, 2 s) without a page
LOADS = 50
FIRST_FIGURE = """() => [...document.querySelectorAll('.js-plotly-plot .scatterlayer .trace path')]
  .some(p => (p.getAttribute('d') || '').length > 20)"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="counts kernel processes in /proc")
def test_page_loads_that_never_connect_do_not_lock_out_the_next_page(tmp_path):
    """Issue 24 item 3: 50 loads of ``/`` by a client that never opens the socket (curl), each a page or
    the 503 page; their kernels are freed within the grace; then a real browser page draws its first
    figure; the server stops on SIGINT without a traceback, a kernel mid-notebook included (issue 22 item 3)."""
    pytest.importorskip("voila")
    from browser_kit import ARGS, CHROMIUM

    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    import signal

    from dashboard_events import synthetic_run

    runs = tmp_path / "runs"
    events = synthetic_run("finished", [1.0, 0.8, 0.7], spe=20)
    (runs / "finished").mkdir(parents=True)
    (runs / "finished" / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    max_kernels = 2
    proc, port, log = start_server(tmp_path, "--cull-idle", str(GRACE), "--max-kernels", str(max_kernels))
    try:
        wait_for_the_pool(proc, tmp_path, port)
        statuses, most = [], 0
        for _ in range(LOADS):  # one after another, as fast as the server answers
            status, _, body = get(port, "/")
            statuses.append(status)
            assert status in (200, 503), body[:500]
            most = max(most, kernel_count(proc.pid))
        assert most <= max_kernels + POOL and statuses.count(200) >= max_kernels, statuses
        poll(lambda: kernel_count(proc.pid) == POOL, GRACE + 30, "the unconnected pages' kernels to be freed")
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                page = browser.new_page()
                page.goto(f"http://127.0.0.1:{port}/", wait_until="commit", timeout=120_000)
                page.wait_for_function(FIRST_FIGURE, polling=100, timeout=120_000)
            finally:
                browser.close()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0
    finally:
        stop_dashboard(proc, log)
    printed = (tmp_path / f"server-{port}.log").read_text()
    assert "Traceback" not in printed, printed[-3000:]
