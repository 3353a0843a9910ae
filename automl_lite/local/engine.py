"""The embedded local engine: the whole pipeline on one machine, no AWS account.

It starts moto as an in-process server on a loopback port, creates the same
resources the CDK stack creates (bucket, topic, the four functions with their real
handler paths, a Batch queue and job definition, the EventBridge rule, the state
machine from ``statemachine/pipeline.asl.json``) and points every AWS client of
this process, and of the training subprocess, at it through ``AWS_ENDPOINT_URL``.
The pipeline code cannot tell the difference: there is no ``if local`` anywhere.

Dropping a run works as on AWS: the CSV is uploaded, then the manifest; the engine
builds the S3 "Object Created" event in EventBridge's shape, matches it against the
rule's pattern (EventBridge's own TestEventPattern) and starts the execution, since
moto's EventBridge does not start Step Functions targets itself.

The scoring flow is deployed beside it (its functions from the same table, its rule,
``statemachine/score.asl.json``): ``import_run`` puts a run folder's artifacts under
``runs/<run-id>/`` and ``submit_score`` drops ``score/<run-id>/<name>.csv``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from automl_lite import layout
from automl_lite.aws import clients, executions, observability, resources, size_limits, storage
from automl_lite.finish.notify import RUN_FOLDERS_ENV
from automl_lite.local import moto_patches
from automl_lite.local.auth import TOKEN_HEADER, EngineKeys, GuardedMotoServer
from automl_lite.local.deploy import Target, deploy
from automl_lite.local.execution import ExecutionResult, make_run_id, s3_object_created_event
from automl_lite.local.names import ACCOUNT, BUCKET, PREFIX, REGION

#: The step each function runs (the same table the CDK app reads).
HANDLERS = {step: spec.handler for step, spec in resources.FUNCTIONS.items()}


class LocalEngine:
    """Runs the pipeline's state machine with AWS emulated in-process.

    Examples
    --------
    >>> with LocalEngine(work_dir=Path(".automl-lite")) as engine:  # doctest: +SKIP
    ...     arn = engine.submit_files(Path("data.csv"), {"dataset": "data.csv", "target": "y"})
    ...     result = engine.wait(arn)
    """

    def __init__(self, *, work_dir: Path, run_folders: Path | None = None) -> None:
        self.work_dir = work_dir
        #: Where the CLI puts run folders: the messages' report links are paths there (notify.RUN_FOLDERS_ENV).
        self.run_folders = run_folders
        self.bucket = BUCKET
        self._server: Any = None
        self._saved_env: dict[str, str | None] = {}
        #: This start's credentials: the emulated AWS refuses any other key.
        self.keys = EngineKeys.generate()
        self.endpoint: str | None = None
        self.state_machine_arn = ""
        self.topic_arn = ""
        self.queue_url = ""
        self.rule_name = f"{PREFIX}-manifest-uploaded"
        self.score_state_machine_arn = ""
        self.score_rule_name = f"{PREFIX}-score-uploaded"
        self._messages: list[dict[str, Any]] = []
        self._messages_lock = threading.Lock()
        #: What the engine's patches of moto read: the faults tests inject, the limits they scale, the
        #: credentials, the folders of the job and function logs.
        self.state = moto_patches.EngineState()

    @property
    def faults(self) -> moto_patches.Faults:
        """The faults injected into this engine's runs (tests of the failure paths)."""
        return self.state.faults

    @property
    def limits(self) -> moto_patches.Limits:
        """The AWS limits this engine enforces (tests scale them down)."""
        return self.state.limits

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> LocalEngine:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> LocalEngine:
        moto_patches.apply()
        # One line per emulated API call is noise to a user following a run.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        # The interpreter logs every caught task failure with its internals; the
        # execution history already holds each one, in AWS's shape.
        logging.getLogger("moto").setLevel(logging.CRITICAL)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.state.job_log_dir = self.work_dir / "jobs"
        self.state.lambda_tmp_root = self.work_dir / "lambda-tmp"
        self.state.lambda_tmp_root.mkdir(parents=True, exist_ok=True)
        self.state.lambda_log_dir = self.work_dir / "logs"
        self.keys = EngineKeys.generate()
        self.state.credentials.access_key_id = self.keys.access_key_id
        self.state.credentials.secret_access_key = self.keys.secret_access_key
        moto_patches.install(self.state)
        self._server = GuardedMotoServer(self.keys)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        # moto keeps its backends per process: start from an empty account every time.
        _reset_moto(self.endpoint, self.keys.token)
        self._set_env(
            {
                "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_ACCESS_KEY_ID": self.keys.access_key_id,
                "AWS_SECRET_ACCESS_KEY": self.keys.secret_access_key,
                "AWS_SESSION_TOKEN": None,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                "AWS_PROFILE": None,
                # moto's ASL interpreter calls the services through this port.
                "MOTO_PORT": str(port),
                # The functions' Powertools settings, as the CDK app deploys them; no X-Ray daemon here.
                **observability.function_environment(os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING")),
                "POWERTOOLS_TRACE_DISABLED": "true",
                # The deployed sizes, as the CDK app sets them on every function (the budget's source).
                **size_limits.sizes_environment(),
                # The functions' setting for the messages' report links (else the S3 console's pages).
                RUN_FOLDERS_ENV: str(self.run_folders.resolve()) if self.run_folders else None,
            }
        )
        clients.reset_clients()
        self._deploy()
        return self

    def stop(self) -> None:
        if self._server is not None:
            _reset_moto(self.endpoint or "", self.keys.token)
            self._server.stop()
            self._server = None
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()
        clients.reset_clients()

    def _set_env(self, values: dict[str, str | None]) -> None:
        for name, value in values.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    # ------------------------------------------------------------------ resources
    def _deploy(self) -> None:
        """Create what the CDK stack creates (:func:`automl_lite.local.deploy.deploy`)."""
        deployment = deploy(
            Target(
                bucket=self.bucket,
                endpoint=self.endpoint,
                keys=self.keys,
                rule_name=self.rule_name,
                score_rule_name=self.score_rule_name,
            )
        )
        self.topic_arn = deployment.topic_arn
        self.queue_url = deployment.queue_url
        self.state_machine_arn = deployment.state_machine_arn
        self.score_state_machine_arn = deployment.score_state_machine_arn

    def serve_stack(self, name: str = PREFIX) -> dict[str, str]:
        """Be a deployed stack to any AWS client pointed at :attr:`endpoint` (the CLI's ``--stack NAME``).

        Creates a CloudFormation stack ``name`` whose outputs are this deployment's, under the
        names the CDK stack gives them (:data:`automl_lite.aws.stack.CLIENT_OUTPUTS`), and lets
        the EventBridge rules start their state machines for files put into the bucket by
        anyone, as on AWS (``EngineState.rule_targets``). Returns the outputs.
        """
        import warnings

        from automl_lite.aws import stack

        outputs = {
            stack.BUCKET_OUTPUT: self.bucket,
            stack.STATE_MACHINE_OUTPUT: self.state_machine_arn,
            stack.SCORE_STATE_MACHINE_OUTPUT: self.score_state_machine_arn,
            stack.TOPIC_OUTPUT: self.topic_arn,
        }
        template = {
            # CloudFormation wants one resource; moto keeps this one as a name only.
            "Resources": {"Engine": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
            "Outputs": {key: {"Value": value} for key, value in outputs.items()},
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            clients.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))
        self.state.rule_targets = True
        return outputs

    # ------------------------------------------------------------------ runs
    def upload(
        self, data: bytes, key: str, *, content_type: str = "application/octet-stream"
    ) -> dict[str, Any]:
        response = clients.client("s3").put_object(
            Bucket=self.bucket, Key=key, Body=data, ContentType=content_type
        )
        return {"etag": response["ETag"], "version_id": response.get("VersionId"), "size": len(data)}

    def _upload_file(self, path: Path, key: str, *, content_type: str) -> dict[str, Any]:
        """:meth:`upload` for a local file, streamed (``upload_file`` returns no ETag or version: a HEAD does)."""
        storage.upload(path, self.bucket, key, content_type=content_type)
        head = storage.head(self.bucket, key)
        if head is None:
            raise RuntimeError(f"s3://{self.bucket}/{key} is missing right after its upload")
        return {"etag": head["ETag"], "version_id": head.get("VersionId"), "size": head["ContentLength"]}

    def submit(
        self,
        manifest: dict[str, Any] | bytes,
        files: dict[str, bytes] | dict[str, Path] | None = None,
        *,
        name: str = "run",
    ) -> str:
        """Drop files and a manifest into a fresh ``incoming/<name>-<random>/`` folder and start the run.

        ``files`` maps names relative to the folder to their bytes or a local file (streamed); they are uploaded
        first, since the manifest is the trigger. ``manifest`` may be raw bytes (uploaded
        as they are, so malformed manifests reach the pipeline as they would on AWS).
        """
        clean = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "run"
        folder = f"{layout.INCOMING_PREFIX}{clean}-{secrets.token_hex(3)}/"
        for relative, data in (files or {}).items():
            if isinstance(data, Path):  # streamed from disk in parts (multipart), never read whole
                storage.upload(data, self.bucket, folder + relative, content_type="text/csv")
            else:
                self.upload(data, folder + relative, content_type="text/csv")
        body = manifest if isinstance(manifest, bytes) else json.dumps(manifest, indent=2).encode()
        return self.drop_manifest(folder + layout.MANIFEST_NAME, body, run_name=clean)

    def drop_manifest(self, key: str, body: bytes, *, run_name: str | None = None) -> str:
        """Upload a manifest and deliver its "Object Created" event as EventBridge would."""
        meta = self.upload(body, key, content_type="application/json")
        event = s3_object_created_event(
            bucket=self.bucket, key=key, size=meta["size"], etag=meta["etag"], version_id=meta["version_id"]
        )
        arn = self.deliver(event, run_id=make_run_id(run_name or key.split("/")[-2]))
        if arn is None:
            raise RuntimeError(f"s3://{self.bucket}/{key} does not match the trigger's event pattern")
        return arn

    def deliver(self, event: dict[str, Any], *, run_id: str) -> str | None:
        """Start an execution for ``event`` on the state machine whose rule matches it (None if none does)."""
        events = clients.client("events")
        for rule, state_machine_arn in (
            (self.rule_name, self.state_machine_arn),
            (self.score_rule_name, self.score_state_machine_arn),
        ):
            pattern = events.describe_rule(Name=rule)["EventPattern"]
            if events.test_event_pattern(EventPattern=pattern, Event=json.dumps(event))["Result"]:
                return clients.client("stepfunctions").start_execution(
                    stateMachineArn=state_machine_arn, name=run_id, input=json.dumps(event)
                )["executionArn"]
        return None

    # ------------------------------------------------------------------ scoring
    def import_run(self, folder: Path) -> str:
        """Upload a run folder written by ``collect`` to ``runs/<run-id>/`` (scoring reads its model there)."""
        from automl_lite.run_summary import RunSummary

        run_id = RunSummary.load((folder / layout.RUN_SUMMARY).read_bytes()).run_id
        for artifact in (layout.RUN_SUMMARY, *layout.ARTIFACTS):
            path = folder / artifact
            if path.is_file():
                storage.upload(path, self.bucket, layout.run_key(run_id, artifact))
        return run_id

    def submit_score(self, run_id: str, data: bytes | Path, *, name: str = "data") -> str:
        """Drop ``score/<run-id>/<name>.csv`` and deliver its "Object Created" event; the execution ARN.

        ``data`` is the file's bytes or a local file, streamed from disk in parts (multipart), never
        read whole.
        """
        clean = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "data"
        key = f"{layout.SCORE_INPUT_PREFIX}{run_id}/{clean}.csv"
        meta = (
            self._upload_file(data, key, content_type="text/csv")
            if isinstance(data, Path)
            else self.upload(data, key, content_type="text/csv")
        )
        event = s3_object_created_event(
            bucket=self.bucket, key=key, size=meta["size"], etag=meta["etag"], version_id=meta["version_id"]
        )
        arn = self.deliver(event, run_id=make_run_id(f"score-{clean}"))
        if arn is None:
            raise RuntimeError(f"s3://{self.bucket}/{key} does not match the scoring trigger's event pattern")
        return arn

    def collect_score(self, result: ExecutionResult, dest: Path) -> Path | None:
        """Copy a succeeded scoring's folder (``scores/<run-id>/<name>-<timestamp>/``) to ``dest``."""
        prefix = executions.score_folder(result)
        return executions.collect_prefix(self.bucket, prefix, dest) if prefix else None

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        return executions.history(execution_arn)

    def wait(
        self,
        execution_arn: str,
        *,
        timeout_s: float = 3600,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        poll_s: float = 0.25,
    ) -> ExecutionResult:
        """Follow an execution to its end (:func:`automl_lite.aws.executions.wait`, as against a stack)."""
        return executions.wait(execution_arn, timeout_s=timeout_s, on_event=on_event, poll_s=poll_s)

    def notifications(self) -> list[dict[str, Any]]:
        """Every SNS message published so far (subject, message, attributes, summary).

        The inbox is an SQS subscriber, so a message published with ``MessageStructure=json``
        arrives as its ``sqs`` document: ``summary`` is that document read as the typed
        :class:`RunSummary` (None for a plain text message; every flow's messages, the last resort's
        included, carry one).
        """
        sqs = clients.client("sqs")
        while True:
            received = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            batch = received.get("Messages", [])
            if not batch:
                break
            with self._messages_lock:
                for m in batch:
                    envelope = json.loads(m["Body"])
                    self._messages.append(
                        {
                            "subject": envelope.get("Subject"),
                            "message": envelope.get("Message"),
                            "summary": _typed_summary(envelope.get("Message")),
                            "attributes": {
                                k: v.get("Value")
                                for k, v in (envelope.get("MessageAttributes") or {}).items()
                            },
                        }
                    )
            sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
            )
        with self._messages_lock:
            return list(self._messages)

    def collect(self, result: ExecutionResult, dest: Path) -> Path:
        """Copy the run's artifacts, its execution history and the training log to ``dest``."""
        executions.collect(self.bucket, result, dest)
        job_log = (self.state.job_log_dir or self.work_dir) / f"automl-lite-{result.run_id}.log"
        if job_log.exists():
            (dest / "logs").mkdir(exist_ok=True)
            (dest / "logs" / "training.log").write_bytes(job_log.read_bytes())
        return dest


def _typed_summary(message: str | None) -> Any:
    from pydantic import ValidationError

    from automl_lite.run_summary import RunSummary

    try:
        return RunSummary.model_validate_json(message or "")
    except ValidationError:
        return None


def _reset_moto(endpoint: str, token: str) -> None:
    import urllib.request

    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset", method="POST", headers={TOKEN_HEADER: token}
    )
    urllib.request.urlopen(request, timeout=30).read()


__all__ = [
    "ACCOUNT",
    "BUCKET",
    "HANDLERS",
    "PREFIX",
    "REGION",
    "ExecutionResult",
    "LocalEngine",
    "make_run_id",
    "s3_object_created_event",
]
