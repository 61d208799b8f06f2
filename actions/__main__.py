"""The action server, bound to loopback, with the FAQ index loaded before serving.

``rasa run actions`` always listens on 0.0.0.0 and loads models on the first
message; this entry point does neither.
"""
from __future__ import annotations

import argparse
import logging
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m actions")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5055)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from rasa_sdk.endpoint import create_app

    from actions.runtime import live_faq

    live = live_faq()
    count = len(live.index) if live.index else 0
    logging.getLogger("actions").info("FAQ index loaded: %d entries", count)
    app = create_app("actions", cors_origins=None)
    client_errors_keep_their_status(app)
    app.run(host=args.host, port=args.port, workers=1, access_log=False)


def client_errors_keep_their_status(app) -> None:
    """rasa-sdk answers every exception with a 500 and a logged traceback: an
    unknown path or a body that is not JSON too. Sanic's HTTP errors keep
    their status, as JSON; the caller's mistakes (404, 400) are logged
    without a traceback."""
    from sanic.exceptions import SanicException
    from sanic.response import json

    async def client_error(request, exception: SanicException):
        server_side = exception.status_code >= 500   # keeps its traceback
        logging.getLogger("actions").log(logging.ERROR if server_side else logging.WARNING, "%s %s: %s",
                                         request.method, request.path, exception, exc_info=server_side)
        return json({"error": str(exception)}, status=exception.status_code)

    app.error_handler.add(SanicException, client_error)


if __name__ == "__main__":
    main()
