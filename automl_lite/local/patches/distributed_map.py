"""Patch 7: a Distributed Map fails with ``States.ExceedToleratedFailureThreshold`` once its
children's failures cross the tolerated threshold, as the Map Run does on AWS."""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

from moto.stepfunctions.parser.api import (
    HistoryEventType,
    MapRunFailedEventDetails,
)
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.distributed_iteration_component import (
    DistributedIterationComponent,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor.distributed_item_processor_worker import (
    DistributedItemProcessorWorker,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.state_map import StateMap
from moto.stepfunctions.parser.asl.component.state.exec.state_map.tolerated_failure import (
    ToleratedFailureCountDecl,
    ToleratedFailurePercentageDecl,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

from automl_lite.local.patches import ORIGINAL

#: What AWS says when a Map Run fails on its threshold (the error name is the ASL's).
EXCEEDED_THRESHOLD_CAUSE = "The specified tolerated failure threshold was exceeded."
#: Set on a Map's iteration component: were ToleratedFailureCount / ToleratedFailurePercentage declared?
_DECLARED_TOLERANCE = "_automl_lite_declared_tolerance"


@dataclass
class _MapRunTolerance:
    """One Distributed Map run's threshold, and the children it has running."""

    total: int
    count: int
    percentage: float
    count_declared: bool
    percentage_declared: bool
    running: int = 0
    crossed: bool = False
    lock: threading.Condition = field(default_factory=threading.Condition)

    def exceeded(self, failed: int) -> bool:
        """AWS's rule: either declared threshold exceeded; neither declared means none tolerated."""
        if not (self.count_declared or self.percentage_declared):
            return failed > 0
        over_count = self.count_declared and failed > self.count
        over_share = (
            self.percentage_declared and self.total > 0 and 100.0 * failed / self.total > self.percentage
        )
        return bool(over_count or over_share)


#: MapRunRecord -> its tolerance, while the run's children may still be running.
_MAP_RUNS: weakref.WeakKeyDictionary[Any, _MapRunTolerance] = weakref.WeakKeyDictionary()


def map_from_state_props(self: StateMap, state_props: Any) -> None:
    """Remember whether the thresholds were declared (moto fills in 0 for both when they are not)."""
    ORIGINAL["map_from_state_props"](self, state_props)
    declared = (
        state_props.get(ToleratedFailureCountDecl) is not None,
        state_props.get(ToleratedFailurePercentageDecl) is not None,
    )
    setattr(self.iteration_component, _DECLARED_TOLERANCE, declared)


def distributed_map_run(self: DistributedIterationComponent, env: Any, eval_input: Any) -> None:
    """The Map Run, failing as AWS's does once its children's failures cross the threshold."""
    count_declared, percentage_declared = getattr(self, _DECLARED_TOLERANCE, (False, False))
    record = eval_input.map_run_record
    tolerance = _MapRunTolerance(
        total=len(
            env.stack[-1]
        ),  # the items (from the ItemReader or the input), as moto's _map_run pops them
        count=int(record.tolerated_failure_count),
        percentage=float(record.tolerated_failure_percentage),
        count_declared=count_declared,
        percentage_declared=percentage_declared,
    )
    _MAP_RUNS[record] = tolerance
    try:
        ORIGINAL["distributed_map_run"](self, env, eval_input)
    except BaseException:
        with tolerance.lock:  # the children already running finish before the Map Run fails
            tolerance.lock.wait_for(lambda: tolerance.running == 0)
        raise


def distributed_eval_job(self: DistributedItemProcessorWorker, env: Any, job: Any) -> None:
    """One child execution; the one whose failure crosses the threshold fails the Map Run."""
    record = self._map_run_record
    tolerance = _MAP_RUNS.get(record)
    if tolerance is None:
        ORIGINAL["distributed_eval_job"](self, env, job)
        return
    with tolerance.lock:
        if tolerance.crossed:  # no child starts once the Map Run is failing
            job.job_output = None
            return
        tolerance.running += 1
    try:
        ORIGINAL["distributed_eval_job"](self, env, job)
    finally:
        with tolerance.lock:
            tolerance.running -= 1
            failed = record.item_counter.failed.get() + record.item_counter.timed_out.get()
            first = not tolerance.crossed and tolerance.exceeded(failed)
            tolerance.crossed = tolerance.crossed or first
            tolerance.lock.notify_all()
    if first:
        # An exception as the job's output makes moto's job pool stop and _map_run raise it.
        error = StatesErrorNameType.StatesExceedToleratedFailureThreshold.to_name()
        job.job_output = FailureEventException(
            failure_event=FailureEvent(
                env=env,
                error_name=StatesErrorName(typ=StatesErrorNameType.StatesExceedToleratedFailureThreshold),
                event_type=HistoryEventType.MapRunFailed,
                event_details=EventDetails(  # type: ignore[typeddict-item]  # moto builds it the same way
                    mapRunFailedEventDetails=MapRunFailedEventDetails(
                        error=error, cause=EXCEEDED_THRESHOLD_CAUSE
                    )
                ),
            )
        )
