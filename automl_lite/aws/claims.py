"""At-most-one run per manifest upload, with no database.

S3 delivers events at least once, so the same "Object Created" event can start two
executions. The first step claims the upload with an S3 conditional write
(``If-None-Match: *``) of a small marker keyed by the upload's identity; a second
delivery finds the marker taken and ends without training. A new upload of the
manifest (a new version, or new content) has a new identity and starts a new run,
which is how a user re-runs after fixing a dataset.

Markers live in ``runs/.claims/``: the one place outside a run's own folder that the
pipeline writes, and a name no run id can take (run ids have no dots).
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime

from pydantic import BaseModel

from automl_lite import layout
from automl_lite.aws import clients, storage
from automl_lite.exceptions import InternalError

CLAIMS_PREFIX = layout.CLAIMS_PREFIX
#: Attempts at writing or reading the marker while another writer holds it in flight.
CLAIM_ATTEMPTS = 6
#: First wait between attempts (doubled each time: 0.1 + 0.2 + ... about 3 s in all).
CLAIM_BACKOFF_S = 0.1


class Claim(BaseModel):
    run_id: str
    bucket: str
    key: str
    etag: str | None
    version_id: str | None
    claimed_at: datetime


def upload_identity(
    *, bucket: str, key: str, etag: str | None, version_id: str | None, sequencer: str | None
) -> str:
    """What makes an upload this upload: its version when the bucket is versioned, else content and write order."""
    parts = [
        bucket,
        key,
        version_id or "",
        "" if version_id else (etag or "").strip('"'),
        "" if version_id else (sequencer or ""),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def claim_key(identity: str, *, prefix: str = CLAIMS_PREFIX) -> str:
    return f"{prefix}{identity}.json"


def claim_upload(
    *,
    bucket: str,
    key: str,
    etag: str | None,
    version_id: str | None,
    sequencer: str | None,
    run_id: str,
    prefix: str = CLAIMS_PREFIX,
) -> str | None:
    """Claim the upload for ``run_id``. Returns None when claimed, or the run id that already holds it.

    ``prefix`` is where the markers live: ``runs/.claims/`` for training, ``scores/.claims/``
    for scoring (each flow's role writes only under its own prefix).

    Only S3's ``412 PreconditionFailed`` means the marker exists. ``409
    ConditionalRequestConflict`` means another conditional write of the same key is in
    flight: its marker may not exist yet (that write may still fail), so the write is
    tried again after a pause, never taken for "already claimed". A marker that cannot
    be read right after a 412 (its writer's request not yet visible, or removed) is
    likewise retried from the write.
    """
    identity = upload_identity(bucket=bucket, key=key, etag=etag, version_id=version_id, sequencer=sequencer)
    marker = Claim(
        run_id=run_id, bucket=bucket, key=key, etag=etag, version_id=version_id, claimed_at=datetime.now(UTC)
    )
    body = marker.model_dump_json(indent=2).encode()
    for attempt in range(CLAIM_ATTEMPTS):
        if attempt:
            time.sleep(CLAIM_BACKOFF_S * 2 ** (attempt - 1))
        try:
            if storage.write_if_absent(bucket, claim_key(identity, prefix=prefix), body):
                return None
            holder = Claim.model_validate(
                json.loads(storage.read_bytes(bucket, claim_key(identity, prefix=prefix)))
            )
        except Exception as exc:
            if clients.error_code(exc) == "ConditionalRequestConflict" or clients.is_not_found(exc):
                continue
            raise
        # A retry of the same execution's first step must not call itself a duplicate.
        return None if holder.run_id == run_id else holder.run_id
    raise InternalError(
        f"The upload {storage.uri(bucket, key)} could not be claimed: S3 kept answering "
        f"ConditionalRequestConflict on {claim_key(identity, prefix=prefix)} for {CLAIM_ATTEMPTS} attempts.",
        fix="Upload the manifest again; if it keeps happening, report it.",
    )
