"""What a served page's kernel does before the App (``adaft_dashboard.server.page_kernel``): Plotly's bundle
shared (not 5 MB in every figure's state), the warm-up that leaves no widget behind, the wait for
the page that only a pre-heated kernel makes; and the pool-aware kernel bound (``kernels``)."""

from __future__ import annotations

import asyncio

import pytest

from adaft_dashboard.server import page_kernel

pytest.importorskip("ipywidgets")
go = pytest.importorskip("plotly.graph_objs")


def esm_size(fig) -> int:
    return len(fig.get_state()["_esm"])


def test_figures_load_plotly_from_the_server_when_it_serves_the_bundle(monkeypatch):
    monkeypatch.setattr(go.FigureWidget, "_esm", go.FigureWidget._esm)  # restored after the test
    monkeypatch.delenv(page_kernel.BUNDLE_ENV, raising=False)
    assert page_kernel.share_plotly_bundle() is False and esm_size(go.FigureWidget()) > 1_000_000  # as shipped
    monkeypatch.setenv(page_kernel.BUNDLE_ENV, page_kernel.BUNDLE_URL)
    assert page_kernel.share_plotly_bundle() is True
    fig = go.FigureWidget(go.Scatter(x=[1, 2], y=[3, 4]))
    state = fig.get_state()
    assert len(state["_esm"]) < 1000 and "voila/labextensions/widgetbundle.js" in state["_esm"]
    assert "export default" in state["_esm"] and fig.data[0].y == (3, 4)  # the figure itself is unchanged
    assert (page_kernel.plotly_bundle_dir() / "widgetbundle.js").is_file()  # what the server serves


def test_warm_up_and_the_wait_only_in_a_pre_heated_kernel(monkeypatch, tmp_path):
    from ipywidgets.widgets.widget import _instances

    monkeypatch.delenv(page_kernel.PREHEAT_ENV, raising=False)
    assert page_kernel.warm_up() == 0.0
    page_kernel.wait_for_page()  # returns at once: no pool, no request to wait for
    monkeypatch.setenv(page_kernel.PREHEAT_ENV, "True")
    before = set(_instances)
    assert page_kernel.warm_up() > 0
    assert set(_instances) == before  # the throwaway App's widgets are closed: the page loads none of them


def test_pooled_kernels_do_not_count_as_pages_and_a_full_server_hands_out_none(monkeypatch):
    pytest.importorskip("voila")
    from types import SimpleNamespace

    from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
    from tornado import web

    from adaft_dashboard.server.kernels import POOL_ENV, PageKernelManager

    async def start(self, *args, kernel_id=None, **kwargs):  # jupyter's, without a process
        kernel_id = kernel_id or f"page-{len(self._kernels)}"
        self._kernels[kernel_id] = SimpleNamespace(execution_state="idle")
        self._kernel_connections[kernel_id] = 0
        return kernel_id

    async def shutdown(self, kernel_id, *args, **kwargs):
        self._kernels.pop(kernel_id)

    monkeypatch.setattr(AsyncMappingKernelManager, "start_kernel", start)
    monkeypatch.setattr(AsyncMappingKernelManager, "shutdown_kernel", shutdown)

    class Pooling(PageKernelManager):
        """Voila's pre-heating subclass, reduced to the two methods that hand out pooled kernels."""

        pool: list = []

        def get_pool_size(self, notebook_name):
            return len(self.pool)

        async def get_rendered_notebook(self, notebook_name, **kwargs):
            return "render task", [], self.pool.pop(0)

    async def scenario():
        m = Pooling(max_kernels=1, cull_idle_timeout=0)
        m.pool.append(await m.start_kernel(env={POOL_ENV: "True"}))  # the pool fills at start-up
        assert len(m._kernels) == 1 and m.page_count() == 0 and m.get_pool_size("app.ipynb") == 1
        for _ in range(2):
            await m.cull_kernel_if_idle(m.pool[0])  # no page, past the idle timeout: a waiting kernel stays
        assert len(m._kernels) == 1
        _, _, page = await m.get_rendered_notebook("app.ipynb")  # a page request takes it
        assert m.page_count() == 1 and m.full()
        m.pool.append(await m.start_kernel(env={POOL_ENV: "True"}))  # the refill is never refused
        assert len(m._kernels) == 2 and m.page_count() == 1
        assert m.get_pool_size("app.ipynb") == 0  # full: the next request goes the normal way ...
        with pytest.raises(web.HTTPError) as info:
            await m.start_kernel(env={POOL_ENV: "False"})  # ... and gets the 503 page
        assert info.value.status_code == 503 and "--max-kernels" in info.value.reason
        await m.cull_kernel_if_idle(page)  # the page's kernel: freed once no page is connected
        await m.cull_kernel_if_idle(page)
        assert page not in m._kernels and m.page_count() == 0 and m.get_pool_size("app.ipynb") == 1

    asyncio.run(scenario())
