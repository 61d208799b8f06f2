"""``python -m simulator``: run the local WhatsApp simulator.

Every option falls back to the environment variable of the bot it talks to
(``WHATSAPP_APP_SECRET`` and friends), so ``make run`` can share one set.
``--port 0`` picks a free port; the first line on stdout is always
``SIMULATOR_URL=http://host:port`` so a parent process can read it.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys

import uvicorn

from simulator.app import SimulatorConfig, create_app
from simulator.signing import DEFAULT_DISPLAY_PHONE_NUMBER, DEFAULT_PHONE_NUMBER_ID, DEFAULT_WABA_ID


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name) or default


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m simulator", description="Local WhatsApp simulator for Balie.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(_env("SIMULATOR_PORT", "8081")))
    parser.add_argument(
        "--webhook-url",
        default=_env("SIMULATOR_WEBHOOK_URL", "http://127.0.0.1:5005/webhooks/whatsapp/webhook"),
        help="the bot's WhatsApp webhook",
    )
    parser.add_argument("--app-secret", default=_env("WHATSAPP_APP_SECRET"), help="HMAC key for X-Hub-Signature-256")
    parser.add_argument("--phone-number-id", default=_env("WHATSAPP_PHONE_NUMBER_ID", DEFAULT_PHONE_NUMBER_ID))
    parser.add_argument("--access-token", default=_env("WHATSAPP_ACCESS_TOKEN"), help="require this bearer token")
    parser.add_argument("--verify-token", default=_env("WHATSAPP_VERIFY_TOKEN"))
    parser.add_argument("--display-phone-number", default=DEFAULT_DISPLAY_PHONE_NUMBER)
    parser.add_argument("--waba-id", default=DEFAULT_WABA_ID)
    parser.add_argument("--webhook-timeout", type=float, default=30.0, help="seconds to wait for the bot's webhook")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    if not args.app_secret:
        parser.error("--app-secret (or WHATSAPP_APP_SECRET) is required")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="simulator %(levelname)s %(message)s")
    config = SimulatorConfig(
        webhook_url=args.webhook_url,
        app_secret=args.app_secret,
        phone_number_id=args.phone_number_id,
        access_token=args.access_token,
        verify_token=args.verify_token,
        display_phone_number=args.display_phone_number,
        waba_id=args.waba_id,
        webhook_timeout_s=args.webhook_timeout,
    )
    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        sys.exit(f"simulator: cannot listen on {args.host}:{args.port}: {exc.strerror}")
    host, port = sock.getsockname()[:2]
    url = f"http://{host}:{port}"
    print(f"SIMULATOR_URL={url}", flush=True)
    print(f"WhatsApp-simulator: {url}/  (WHATSAPP_API_URL={url}/v24.0, webhook -> {args.webhook_url})", flush=True)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config),
            log_level=args.log_level,
            access_log=False,
            ws="none",  # no websockets needed; the venv pins an old websockets for rasa-sdk
            timeout_graceful_shutdown=2,
        )
    )
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
