"""The served dashboard's kernel manager: page kernels are freed, and their number is bounded.

Jupyter's culler frees a kernel only after ``cull_idle_timeout`` seconds without *any* message
from it. A dashboard page is never silent: its UI pump re-renders the header (the "UI tick"
figure) every couple of seconds and updates views while runs train, so a closed page's kernel
looked active forever (issue 12: 15 kernels after an afternoon with ``--cull-idle 900``).
:class:`PageKernelManager` culls on what matters for a page instead: a kernel that has had **no
page connected** for ``cull_idle_timeout`` seconds is shut down, whatever it sends. A kernel
that is busy (Voila is executing the notebook for a page request that has not connected yet)
restarts the count. Runs started from a page are their own processes and are not touched.

``max_kernels`` bounds the kernels alive at once: a page request beyond it gets a 503 page that
says so (close another dashboard tab or wait for idle pages to be freed).

**Pre-heated kernels** (``adaft dashboard --preheat N``, Voila's ``preheat_kernel``): Voila wraps
this class in its pooling subclass (``voila_kernel_manager_factory``), which starts ``N`` kernels
ahead of any page and hands one to the next page request. Pooled kernels are not pages: they are
never culled while they wait (Voila's rule, kept here too) and do not count toward
``max_kernels``, so the server holds at most ``max_kernels`` pages plus ``N`` waiting kernels; a
pool refill is never refused. A full server hands out no pooled kernel (its pool reads as empty to
the page request, which then gets the 503 page), and a handed-out kernel becomes a page like any
other: culled once no page has been connected for ``cull_idle_timeout`` seconds. A page requested
while the pool's kernel is still starting (its process is up but Voila has not yet registered the
notebook it pre-heats: the first seconds after the server starts) gets a kernel of its own, as in
plain Voila; the pooled kernel then waits for the next page.
"""

from __future__ import annotations

import time
import uuid

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado import web
from traitlets import Dict, Integer, Set

POOL_ENV = "VOILA_PREHEAT"  # "True" in the environment Voila gives the kernels it starts for its pool

FULL_MESSAGE = ("Too many dashboard pages open ({n}, the limit set by adaft dashboard --max-kernels): close "
                "another dashboard tab, or wait {idle} s for closed pages to be freed")


def cull_due(connections: int, busy: bool, unwatched_since: float | None, now: float,
             timeout: float) -> tuple[bool, float | None]:
    """(cull now?, the new "no page since" time) for one kernel: a connected or busy kernel is
    kept and its count restarts; an unwatched one is culled ``timeout`` s after it became so."""
    if connections > 0 or busy:
        return False, None
    since = now if unwatched_since is None else unwatched_since
    return now - since >= timeout, since


class PageKernelManager(AsyncMappingKernelManager):
    """Culls kernels without a page (see the module doc) and refuses kernels beyond ``max_kernels``."""

    max_kernels = Integer(0, config=True, help="most page kernels alive at once; 0: no bound")
    _unwatched = Dict()

    _stopping = Set()  # kernels being shut down: their process is ending, they no longer count
    _pooled = Set()  # kernels started for Voila's pool and not yet handed to a page
    _claims = Integer(0)  # page requests taking a pooled kernel right now (it counts as theirs)

    def __init_subclass__(cls, **kwargs):
        """Voila's pooling subclass hands pooled kernels to pages without ``start_kernel``: hook the
        two methods it does that with (see the module doc)."""
        super().__init_subclass__(**kwargs)
        if "get_pool_size" in cls.__dict__:
            cls.get_pool_size = _pool_unless_full(cls.__dict__["get_pool_size"])
        if "get_rendered_notebook" in cls.__dict__:
            cls.get_rendered_notebook = _hand_out(cls.__dict__["get_rendered_notebook"])

    def page_count(self) -> int:
        return len(set(self._kernels) - self._stopping - self._pooled) + self._claims

    def full(self) -> bool:
        return self.max_kernels > 0 and self.page_count() >= self.max_kernels

    async def shutdown_kernel(self, kernel_id, *args, **kwargs):
        self._stopping.add(kernel_id)
        try:
            return await super().shutdown_kernel(kernel_id, *args, **kwargs)
        finally:
            self._stopping.discard(kernel_id)
            self._pooled.discard(kernel_id)
            forget_request_info(kernel_id)

    async def start_kernel(self, *args, **kwargs):
        if (kwargs.get("env") or {}).get(POOL_ENV) == "True" and kwargs.get("kernel_id") is None:
            kernel_id = str(uuid.uuid4())  # a pool kernel: known as one from its first moment
            self._pooled.add(kernel_id)
            try:
                return await super().start_kernel(*args, kernel_id=kernel_id, **kwargs)
            except BaseException:
                self._pooled.discard(kernel_id)
                raise
        if kwargs.get("kernel_id") is None and self.full():
            text = FULL_MESSAGE.format(n=self.page_count(), idle=self.cull_idle_timeout)
            raise web.HTTPError(503, text, reason=text)  # Voila's error page shows the reason
        return await super().start_kernel(*args, **kwargs)

    async def cull_kernel_if_idle(self, kernel_id):
        kernel = self._kernels.get(kernel_id)
        if kernel is None:
            self._unwatched.pop(kernel_id, None)
            return
        if getattr(kernel, "execution_state", None) == "dead":
            return await super().cull_kernel_if_idle(kernel_id)
        if kernel_id in self._pooled:  # waiting for a page: not idle, whatever its connections
            return
        cull, since = cull_due(self._kernel_connections.get(kernel_id, 0),
                               getattr(kernel, "execution_state", None) == "busy",
                               self._unwatched.get(kernel_id), time.monotonic(), self.cull_idle_timeout)
        if not cull:
            self._unwatched[kernel_id] = since
            return
        self._unwatched.pop(kernel_id, None)
        self.log.info("Culling kernel %s: no dashboard page for %s s", kernel_id, self.cull_idle_timeout)
        await self.shutdown_kernel(kernel_id)


def _pool_unless_full(get_pool_size):
    def pool_size_unless_full(self, notebook_name):
        return 0 if self.full() else get_pool_size(self, notebook_name)

    return pool_size_unless_full


def _hand_out(get_rendered_notebook):
    async def rendered_notebook_for_a_page(self, *args, **kwargs):
        self._claims += 1
        try:
            render_task, rendered_cache, kernel_id = await get_rendered_notebook(self, *args, **kwargs)
            self._pooled.discard(kernel_id)  # a page's kernel from now on
        finally:
            self._claims -= 1
        return render_task, rendered_cache, kernel_id

    return rendered_notebook_for_a_page


def forget_request_info(kernel_id: str) -> None:
    """Drop what Voila's pre-heating keeps per kernel for ``voila.utils.wait_for_request`` (the
    page request's details), so a long-running server does not collect them."""
    try:
        from voila.request_info_handler import RequestInfoSocketHandler
    except ImportError:
        return
    RequestInfoSocketHandler._cache.pop(kernel_id, None)
