"""The served page's door on every route: Jupyter server's Host and Origin checks, token or not.

Voila serves its page behind Jupyter server's login (a token or a password) and ``Host`` check,
but not everywhere (issues 22 and 24): Voila's static routes are plain tornado handlers (no
``Host`` check), Jupyter skips the ``Origin`` check for a token-authenticated request (a page on
another site that holds the token could open the kernel's websocket), Voila's pre-heating
websocket ``/voila/query/KERNEL`` had no check at all, and ``/logout`` answered 500. Here, with
Jupyter's own pieces:

- :class:`DashboardVoila` (Voila, as ``adaft dashboard`` runs it) puts every route behind
  :class:`Door`: each handler class becomes a :class:`~jupyter_server.base.handlers.JupyterHandler`
  (as Jupyter's own ``FileFindHandler`` is) whose ``prepare`` first asks Jupyter's
  ``check_host`` and ``check_origin`` and answers 403 when either says no — whatever the route,
  the method, the token. Routes that were public (Voila's static files) stay public; the others
  keep Jupyter's login.
- :class:`DoorIdentityProvider`: Jupyter's token/password login, with the ``Origin`` checked for
  token-authenticated requests too, and no ``/logout`` (the page has no session to end; its
  template is not in Voila's, hence the 500). Error pages render (``static_path`` set).
- :class:`KernelQuerySocket` replaces Voila's ``/voila/query/KERNEL``: the pre-heated kernel
  that asks for its page request's details (which carry the request's ``?token=``) proves it is
  that kernel — an HMAC of the kernel id with the kernel's own connection key, which only the
  server and that kernel hold (:func:`~adaft_dashboard.server.page_kernel.kernel_proof`, which the kernel sends).
- A malformed ``/voila/templates/`` path is a 404, not Voila's 500 (:class:`TemplateStaticFiles`).

:func:`routes` lists the routes as the server builds them, so the tests cover every one. On Ctrl-C
the kernels are ended at once (:meth:`DashboardVoila.stop`), so no kernel logs a ZMQ traceback.
"""

from __future__ import annotations

import hmac
import signal

from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.auth.identity import PasswordIdentityProvider
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from tornado import web
from voila.app import Voila
from voila.request_info_handler import RequestInfoSocketHandler
from voila.static_file_handler import TemplateStaticFileHandler

from adaft_dashboard.server.page_kernel import PROOF_SCHEME, kernel_proof


class DoorIdentityProvider(PasswordIdentityProvider):
    """Jupyter's token or password login; the ``Origin`` is checked even with a token; no ``/logout``."""

    def should_check_origin(self, handler) -> bool:
        return True

    @property
    def logout_available(self) -> bool:
        return False


class Door:
    """First in every route's handler: Jupyter's ``Host`` and ``Origin`` checks, then the handler."""

    async def prepare(self, *args, **kwargs):
        if not (self.check_host() and self.check_origin()):
            self.current_user = self._jupyter_current_user = None  # as Jupyter's own refusal: no user
            raise web.HTTPError(403)
        return await super().prepare(*args, **kwargs)


class KernelQuerySocket(WebSocketMixin, RequestInfoSocketHandler, JupyterHandler):
    """Voila's ``/voila/query/KERNEL`` for that kernel only: it must show :func:`kernel_proof`."""

    @allow_unauthenticated  # not a page user's route: the kernel's proof is checked instead
    async def get(self, kernel_id: str, *args, **kwargs):
        scheme, _, proof = self.request.headers.get("Authorization", "").partition(" ")
        try:
            key = self.kernel_manager.get_kernel(kernel_id).session.key
        except (KeyError, web.HTTPError):  # no such kernel
            key = None
        if not (key and scheme == PROOF_SCHEME and hmac.compare_digest(proof, kernel_proof(key, kernel_id))):
            raise web.HTTPError(403)
        return await super().get(kernel_id, *args, **kwargs)


class TemplateStaticFiles(TemplateStaticFileHandler):
    """Voila's template files; a path not of the form ``TEMPLATE/static/FILE`` is a 404 (Voila: a 500)."""

    def parse_url_path(self, path: str) -> str:
        if len(path.split("/")) < 3 or path.split("/")[1] != "static":
            raise web.HTTPError(404)
        return super().parse_url_path(path)


REPLACED = {RequestInfoSocketHandler: KernelQuerySocket, TemplateStaticFileHandler: TemplateStaticFiles}


def behind_the_door(handler: type) -> type:
    """``handler`` (or its replacement, :data:`REPLACED`) with :class:`Door` in front; a plain tornado
    handler (Voila's static files) becomes a JupyterHandler too, its ``get``/``head`` as public as before."""
    handler = REPLACED.get(handler, handler)
    bases: tuple = (Door, handler)
    body = {}
    if not issubclass(handler, JupyterHandler):
        bases = (Door, JupyterHandler, handler)
        body = {name: allow_unauthenticated(getattr(handler, name)) for name in ("get", "head")
                if hasattr(handler, name)}
    return type(f"Door{handler.__name__}", bases, body)


class DashboardVoila(Voila):
    """Voila with every route behind :class:`Door` (see the module doc)."""

    def init_settings(self) -> dict:
        from jupyter_server import DEFAULT_STATIC_FILES_PATH

        self.tornado_settings.setdefault("static_path", DEFAULT_STATIC_FILES_PATH)  # Jupyter's error pages use it
        return super().init_settings()

    def init_handlers(self) -> list:
        return [(pattern, behind_the_door(handler), *rest) for pattern, handler, *rest in super().init_handlers()]

    def stop(self):
        """On Ctrl-C: end the kernels at once (Voila asks them to shut down, and a kernel still running
        its notebook then logs a ZMQ traceback); a page's kernel holds nothing to save, runs are their
        own processes."""
        import shutil

        from jupyter_core.utils import run_sync

        shutil.rmtree(self.connection_dir, ignore_errors=True)
        run_sync(self.kernel_manager.shutdown_all)(now=True)


def routes(argv: list[str], config) -> list[tuple]:
    """The routes a :class:`DashboardVoila` started with ``argv`` and ``config`` serves, built as the
    server builds them, without starting a kernel or listening."""
    app = DashboardVoila(config=config)
    sigterm = signal.getsignal(signal.SIGTERM)
    try:
        app.initialize(argv)
    finally:
        signal.signal(signal.SIGTERM, sigterm)  # Voila's own stop handler, for the server only
    preheat = app.voila_configuration.preheat_kernel
    app.voila_configuration.preheat_kernel = False  # no pool started here; its route is still listed
    app.init_settings()
    app.voila_configuration.preheat_kernel = preheat
    return app.init_handlers()
