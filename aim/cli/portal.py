"""``aim portal serve``: run the portal's screens under uvicorn, talking to the hub's API over HTTP."""

from __future__ import annotations

import click
import uvicorn

PORTAL_FACTORY = "api.portal.app:app_from_env"


@click.group(name="portal")
def portal() -> None:
    """Portal side: the screens for MASH, safeguarding and DPO staff (holds the partnership key set).

    \b
    Example:
      AIM_PORTAL_HUB_URL=http://127.0.0.1:8700 AIM_PORTAL_KEYS_DIR=/etc/aim/keys \\
        AIM_PORTAL_POLICY_PATH=/etc/aim/policy.yaml aim portal serve
    """


@portal.command(name="serve")
@click.option("--host", envvar="AIM_PORTAL_HOST", default="127.0.0.1", show_default=True, help="Interface.")
@click.option("--port", envvar="AIM_PORTAL_PORT", type=int, default=8800, show_default=True, help="Port.")
def serve(host: str, port: int) -> None:
    """Run the portal under uvicorn; settings from AIM_PORTAL_* (docs/portal.md).

    \b
    Example:
      aim portal serve --host 0.0.0.0 --port 8800
    """
    # Named by import string: the application layer does not import the API layer.
    uvicorn.run(PORTAL_FACTORY, factory=True, host=host, port=port)


def register(main: click.Group) -> None:
    main.add_command(portal)
