"""``harken web``: the staff web app on its own (any number of them behind a proxy, on PostgreSQL)."""

from __future__ import annotations

from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def web(
        host: Annotated[str | None, typer.Option(help="Address to listen on (default: \\[web] host).")] = None,
        port: Annotated[int | None, typer.Option(help="Port (default: \\[web] port).")] = None,
    ) -> None:
        """Serve the staff web app and its JSON API (OpenAPI docs at /api/docs)."""
        import uvicorn

        from responders.cli.support import console, get_settings
        from responders.service import migrated_engine
        from responders.web.app import create_app

        # Several web processes may start at once on PostgreSQL: one migrates, under the advisory lock.
        settings = get_settings()
        engine = migrated_engine(settings)
        bind_host, bind_port = host or settings.web.host, settings.web.port if port is None else port
        console.print(f"Harken web app on http://{bind_host}:{bind_port}/ (Ctrl-C stops it)")
        uvicorn.run(create_app(settings, engine), host=bind_host, port=bind_port, log_level="warning",
                    forwarded_allow_ips=settings.web.trusted_proxies, proxy_headers=True)
