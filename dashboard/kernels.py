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
"""

from __future__ import annotations

import time

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado import web
from traitlets import Dict, Integer, Set

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

    def page_count(self) -> int:
        return len(set(self._kernels) - self._stopping)

    async def shutdown_kernel(self, kernel_id, *args, **kwargs):
        self._stopping.add(kernel_id)
        try:
            return await super().shutdown_kernel(kernel_id, *args, **kwargs)
        finally:
            self._stopping.discard(kernel_id)

    async def start_kernel(self, *args, **kwargs):
        if self.max_kernels > 0 and kwargs.get("kernel_id") is None and self.page_count() >= self.max_kernels:
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
        cull, since = cull_due(self._kernel_connections.get(kernel_id, 0),
                               getattr(kernel, "execution_state", None) == "busy",
                               self._unwatched.get(kernel_id), time.monotonic(), self.cull_idle_timeout)
        if not cull:
            self._unwatched[kernel_id] = since
            return
        self._unwatched.pop(kernel_id, None)
        self.log.info("Culling kernel %s: no dashboard page for %s s", kernel_id, self.cull_idle_timeout)
        await self.shutdown_kernel(kernel_id)
