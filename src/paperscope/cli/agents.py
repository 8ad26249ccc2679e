"""`paperscope mcp`: the instance over the Model Context Protocol, on stdio or streamable HTTP."""

from __future__ import annotations

import click

from paperscope.cli.context import LOG_LEVELS, AppContext


def parse_address(value: str) -> tuple[str, int]:
    """HOST:PORT (an IPv6 host in brackets: [::1]:8765) as a host and a port."""
    host, sep, port = value.strip().rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter(f"give HOST:PORT, e.g. 127.0.0.1:8765, not {value!r}", param_hint="--http")
    return host, int(port)


@click.command()
@click.option("--http", "address", metavar="HOST:PORT",
              help="Serve streamable HTTP at http://HOST:PORT/mcp instead of stdio; each client sends its own API "
                   "token (Authorization: Bearer ps_...).")
@click.option("--log-level", type=click.Choice(LOG_LEVELS), default="warning", show_default=True,
              help="How much the server logs (on stderr).")
@click.pass_obj
def mcp(app: AppContext, address: str | None, log_level: str) -> None:
    """Serve this instance to LLM agents over the Model Context Protocol (stdio by default).

    Tools: search, similar, trending, paper, citations (open to every client), recommend and collect (they act
    for the owner of an API token: the tool's token argument, an HTTP client's Authorization header, or over
    stdio $PAPERSCOPE_MCP_TOKEN). The server reads the search indexes that paperscope index, serve or worker
    keep current, and never writes them, so it runs beside serve. Register it with an agent as the command
    `paperscope mcp`.
    """
    from paperscope.errors import require_extra

    require_extra("mcp", "mcp", "paperscope mcp")
    require_extra("fastapi", "web", "paperscope mcp")
    from paperscope.mcp_server import create_server, open_services

    host_port = parse_address(address) if address else None
    level = log_level.upper()
    with app.store() as store:
        services = open_services(app.settings, store)
        if host_port is None:
            create_server(services, default_token=app.settings.mcp_token, log_level=level).run("stdio")
            return
        host, port = host_port
        if app.settings.mcp_token:
            click.echo("note: PAPERSCOPE_MCP_TOKEN is not used over HTTP; each client sends its own token.",
                       err=True)
        if not (host in {"localhost", "::1"} or host.startswith("127.")):
            click.echo("warning: listening beyond this machine; API tokens travel in the clear unless a TLS reverse "
                       "proxy is in front, and requests are not checked for DNS rebinding.", err=True)
        shown = f"[{host}]" if ":" in host else host
        click.echo(f"paperscope mcp: serving {app.settings.database_url} at http://{shown}:{port}/mcp", err=True)
        create_server(services, log_level=level).run("streamable-http", host=host, port=port)
