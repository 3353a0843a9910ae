"""The engine's emulated AWS answers only the engine.

moto's server accepts any request from anyone who can reach its port, and any local
process can. The engine issues random credentials at each start (used by its own
clients, the functions and the training subprocess) and this WSGI middleware refuses
every request whose signature names another access key, with AWS's 403. moto's own
``/moto-api`` (which can reset every backend) answers only requests carrying the
engine's token.

The check is on the access key the request is signed with (SigV4 ``Authorization``
header, or ``X-Amz-Credential`` in a presigned URL); the signature itself is not
recomputed.
"""

from __future__ import annotations

import hmac
import re
import secrets
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

#: The header that carries the engine's token to moto's ``/moto-api``.
TOKEN_HEADER = "X-Automl-Lite-Engine-Token"

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")
_SIGV2 = re.compile(r"^AWS ([^:\s]+):")


@dataclass(frozen=True)
class EngineKeys:
    """One engine start's credentials, and the token for moto's management API."""

    access_key_id: str
    secret_access_key: str
    token: str

    @classmethod
    def generate(cls) -> EngineKeys:
        alphabet = string.ascii_uppercase + string.digits
        return cls(
            access_key_id="AKIA" + "".join(secrets.choice(alphabet) for _ in range(16)),
            secret_access_key=secrets.token_urlsafe(30),
            token=secrets.token_urlsafe(24),
        )


def access_key_of(environ: dict[str, Any]) -> str | None:
    """The access key a request is signed with (header or presigned URL), if any."""
    header = environ.get("HTTP_AUTHORIZATION", "")
    found = _CREDENTIAL.search(header) or _SIGV2.search(header)
    if found:
        return found.group(1)
    query = parse_qs(environ.get("QUERY_STRING", ""))
    for name in ("X-Amz-Credential", "AWSAccessKeyId"):
        if query.get(name):
            return query[name][0].split("/")[0]
    return None


StartResponse = Callable[..., Any]


class RequireEngineCredentials:
    """WSGI middleware: 403 unless the request is signed with the engine's access key."""

    def __init__(
        self, app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]], keys: EngineKeys
    ) -> None:
        self.app = app
        self.keys = keys

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith("/moto-api"):
            presented = environ.get("HTTP_" + TOKEN_HEADER.upper().replace("-", "_"), "")
            allowed = hmac.compare_digest(presented.encode(), self.keys.token.encode())
        else:
            key = access_key_of(environ) or ""
            allowed = hmac.compare_digest(key.encode(), self.keys.access_key_id.encode())
        if allowed:
            return self.app(environ, start_response)
        return _refuse(environ, start_response)


def _refuse(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    message = "The security token included in the request is invalid."
    if "json" in environ.get("CONTENT_TYPE", "") or environ.get("HTTP_X_AMZ_TARGET"):
        body = (f'{{"__type": "UnrecognizedClientException", "message": "{message}"}}').encode()
        content_type = "application/x-amz-json-1.0"
    else:
        body = (
            "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code>"
            f"<Message>{message}</Message></Error><RequestId>0</RequestId></ErrorResponse>"
        ).encode()
        content_type = "text/xml"
    start_response("403 Forbidden", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


class GuardedMotoServer(ThreadedMotoServer):
    """moto's threaded server with :class:`RequireEngineCredentials` in front of its app."""

    def __init__(self, keys: EngineKeys, *, ip_address: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(ip_address=ip_address, port=port, verbose=False)
        self.keys = keys

    def _server_entry(self) -> None:
        app = RequireEngineCredentials(DomainDispatcherApplication(create_backend_app), self.keys)
        self._server = make_server(
            self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()


__all__ = ["TOKEN_HEADER", "EngineKeys", "GuardedMotoServer", "RequireEngineCredentials", "access_key_of"]
