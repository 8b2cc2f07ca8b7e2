"""The node's class list on ``~/class_names`` (and as a picture on ``~/legend``) and, in
few-shot mode, ``~/fewshot/sync``.

``~/class_names`` (``std_msgs/String``, JSON, transient-local: a late subscriber gets
the latest) lists ``{"id", "name", "color"}`` per class and which are taught.
``~/fewshot/sync`` (``std_srvs/Trigger``) checks the support folder at once (a bad one
is the response's one-line error and changes nothing), then teaches and forgets in a
background thread while the node keeps serving; the new classes apply from the next
frame and ``~/class_names`` is republished.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import Header, String
from std_srvs.srv import Trigger

from ..class_legend_image import legend_image
from ..classes import ClassSet
from ..fewshot.adaptive_proxies import AdaptiveProxies
from ..fewshot.cancellation import TeachingCancelled
from ..fewshot.class_teacher import ClassTeacher
from ..fewshot.imprint import SupportError
from ..inference.backends import BackendChoice
from ..stages.build import checkpoint_of, segmentation_for
from ..stages.frame_pipeline import FramePipeline
from .ros_image import array_to_image_msg

__all__ = ["ClassServices", "class_list_json"]

SYNC_JOIN_S = 10.0  # a cancelled sync ends within a step; well inside the stop grace
_LATCHED = QoSProfile(
    depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
)


def class_list_json(classes: ClassSet, taught: tuple[str, ...] = ()) -> str:
    return json.dumps(
        {
            "classes": [
                {"id": i, "name": name, "color": list(colour)}
                for i, (name, colour) in enumerate(zip(classes.names, classes.colors, strict=True))
            ],
            "taught": list(taught),
        }
    )


class ClassServices:
    """``~/class_names`` and, when ``fewshot_support_dir`` is set, the teacher and
    ``~/fewshot/sync`` of one node's frame pipeline."""

    def __init__(self, node: Node, params, frames: FramePipeline):
        self.node, self.params, self.frames = node, params, frames
        self.teacher: ClassTeacher | None = None
        self.state = "idle"
        self.last_sync = ""
        self._busy = threading.Lock()
        self._stopping = threading.Event()  # destroy(): a running sync ends early
        self._thread: threading.Thread | None = None
        self.publisher = node.create_publisher(String, "~/class_names", _LATCHED)
        self.legend_publisher = node.create_publisher(Image, "~/legend", _LATCHED)
        self.service = None
        if params.fewshot_support_dir:
            self._start_teacher()
            self.service = node.create_service(Trigger, "~/fewshot/sync", self._on_sync)
        self.publish()

    def _start_teacher(self) -> None:
        params, logger = self.params, self.node.get_logger()
        model = self.frames.segmentation.model
        AdaptiveProxies(model)  # ValueError (one line at start-up) unless cosine
        support_dir = Path(params.fewshot_support_dir).expanduser()
        state = params.fewshot_state_file or str(support_dir / "taught_model.pt")
        self.teacher = ClassTeacher(
            Path(checkpoint_of(params)),
            model,
            self.frames.classes,
            support_dir,
            Path(state).expanduser(),
            (params.input_width, params.input_height),
            params.fewshot_alpha,
            params.fewshot_refine_steps,
            log=logger.info,
            warn=logger.warning,
            max_pixels=params.max_input_pixels,
        )
        if self.teacher.restore():
            self._use(self.teacher.model, self.teacher.classes)

    @property
    def taught(self) -> tuple[str, ...]:
        return self.teacher.taught if self.teacher else ()

    def publish(self) -> None:
        """The class list on ``~/class_names`` and its picture on ``~/legend`` (latched)."""
        classes, taught = self.frames.classes, self.taught
        self.publisher.publish(String(data=class_list_json(classes, taught)))
        header = Header(stamp=self.node.get_clock().now().to_msg())
        self.legend_publisher.publish(
            array_to_image_msg(legend_image(classes, taught), "rgb8", header)
        )

    def _use(self, model, classes: ClassSet) -> None:
        """Segment with ``model`` from the next frame on, on the running network's device
        and backend."""
        running = self.frames.segmentation
        backend = BackendChoice(running.backend, "the node's backend")
        segmentation = segmentation_for(
            model,
            classes,
            self.params,
            running.device,
            backend,
            probabilities=running.keeps_probabilities,
        )
        self.frames.replace_segmentation(segmentation)

    def _on_sync(self, request: Trigger.Request, response: Trigger.Response):
        if not self._busy.acquire(blocking=False):
            response.success, response.message = False, "a sync is already running"
            return response
        try:
            plan = self.teacher.plan()
        except (SupportError, OSError) as exc:
            self._busy.release()
            message = str(exc).splitlines()[0]
            self.node.get_logger().error(f"few-shot sync refused: {message}")
            response.success, response.message = False, message
            return response
        added, removed = plan
        if not added and not removed:
            self._busy.release()
            response.success, response.message = True, "classes unchanged"
            return response
        self.state = f"teaching {', '.join(added) or 'nothing'}"
        self._thread = threading.Thread(
            target=self._apply, args=(plan,), name="fewshot-sync", daemon=True
        )
        self._thread.start()
        teach = f"teaching {', '.join(added)}" if added else ""
        forget = f"forgetting {', '.join(removed)}" if removed else ""
        response.success = True
        response.message = "; ".join(p for p in (teach, forget) if p) + " (in the background)"
        return response

    def _apply(self, plan) -> None:
        log = self.node.get_logger()
        changed = False
        try:
            result = self.teacher.sync(plan, cancelled=self._stopping.is_set)
            self._use(result.model, result.classes)
            self.last_sync = result.summary()
            log.info(f"few-shot classes: {self.last_sync}; now {', '.join(result.classes.names)}")
            changed = True
        except TeachingCancelled:
            self.last_sync = "cancelled: the node stopped; the next start syncs again"
            log.info("few-shot sync cancelled: the node is stopping")
        except Exception as exc:  # the running model stays as it was
            self.last_sync = f"failed: {exc.__class__.__name__}: {exc}"
            log.error(f"few-shot sync failed, classes unchanged: {exc}")
        finally:
            self.state = "idle"
            self._busy.release()
        if changed:  # only now: a sync sent on seeing the new list is accepted
            self.publish()

    def diagnostics(self) -> dict[str, str]:
        values = {"classes": ", ".join(self.frames.classes.names)}
        if self.teacher is not None:
            values["fewshot_state"] = self.state
            values["fewshot_last_sync"] = self.last_sync or "none"
        return values

    def destroy(self) -> None:
        """Cancel a running sync and wait for its thread, then drop the topics.

        The thread must be gone before the process exits: a daemon thread still in a
        native call (torch, OpenCV) when the interpreter finalizes is ended by
        ``pthread_exit`` on its way back to Python, which aborts the process from a C++
        frame ("terminate called without an active exception", exit -6).
        """
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=SYNC_JOIN_S)
            if self._thread.is_alive():
                self.node.get_logger().warning(
                    f"the few-shot sync thread did not end within {SYNC_JOIN_S:.0f} s"
                )
        if self.service is not None:
            self.node.destroy_service(self.service)
        self.node.destroy_publisher(self.publisher)
        self.node.destroy_publisher(self.legend_publisher)
