"""Reading what a form posts: a ``multipart/form-data`` or urlencoded body, by the standard library."""

from __future__ import annotations

from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qs


def parse_form(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    """A ``multipart/form-data`` (or urlencoded) body as its fields and its files (name -> (file name, bytes))."""
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    if content_type.startswith("application/x-www-form-urlencoded"):
        for key, values in parse_qs(body.decode("utf-8", "replace")).items():
            fields[key] = values[0]
        return fields, files
    if not content_type.startswith("multipart/form-data"):
        return fields, files
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\nMIME-Version: 1.0\r\n\r\n" + body
    )
    if not message.is_multipart():
        return fields, files
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            files[name] = (filename, data)
        else:
            fields[name] = data.decode("utf-8", "replace")
    return fields, files
