"""Keep a running model's taught classes equal to a support folder's (no ROS).

The node's few-shot mode: ``support_dir/<class name>/`` holds a new class's support
frames (``<stem>.png|jpg`` + ``<stem>_mask.png``). ``sync`` imprints every class
folder that is not taught yet and forgets every taught class whose folder is gone, on
a copy of the model; the caller swaps the copy in. The taught model is written
atomically to ``state_path`` and reloaded at start, so a restart keeps the classes.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from ..checkpoint import (
    CheckpointError,
    load_checkpoint,
    load_model,
    save_checkpoint,
    without_training_state,
)
from ..classes import ClassSet
from ..image_codec import DEFAULT_MAX_PIXELS
from ..io_utils import file_sha256
from .cancellation import never_cancelled
from .imprint import (
    SupportError,
    SupportPair,
    check_support,
    imprint_classes,
    read_support_folder,
    remove_classes,
)

__all__ = ["ClassTeacher", "SyncResult"]


@dataclass(frozen=True)
class SyncResult:
    """What a sync changed, and the model and classes to use from now on."""

    model: nn.Module
    classes: ClassSet
    added: tuple[str, ...]
    removed: tuple[str, ...]

    def summary(self) -> str:
        if not self.added and not self.removed:
            return "classes unchanged"
        parts = []
        if self.added:
            parts.append(f"added {', '.join(self.added)}")
        if self.removed:
            parts.append(f"removed {', '.join(self.removed)}")
        return "; ".join(parts)


class ClassTeacher:
    """Taught classes of a cosine-classifier model, synced from ``support_dir``.

    Args:
        base_checkpoint: the base model's checkpoint (its classes cannot be removed).
        base_model: that model, loaded.
        base_classes: its classes.
        support_dir: the folder of class folders.
        state_path: where the taught model is kept (written atomically).
        input_size: network (width, height) for the support frames.
        alpha: adaptation of the base proxies seen in the supports (0: imprint only).
        refine_steps: training steps of the new rows on their supports (0: none).
        log: one-line notes.
        warn: one-line warnings (a state file that cannot be restored).
        max_pixels: pixel budget of each support image and mask.
    """

    def __init__(
        self,
        base_checkpoint: Path,
        base_model: nn.Module,
        base_classes: ClassSet,
        support_dir: Path,
        state_path: Path,
        input_size: tuple[int, int],
        alpha: float = 0.0,
        refine_steps: int = 0,
        log: Callable[[str], None] = print,
        warn: Callable[[str], None] | None = None,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ):
        self.base_sha256 = file_sha256(base_checkpoint)
        self.base_payload = load_checkpoint(base_checkpoint)
        self.base_classes = base_classes
        self.support_dir, self.state_path = Path(support_dir), Path(state_path)
        self.input_size, self.alpha, self.log = input_size, alpha, log
        self.warn = warn or log
        self.refine_steps, self.max_pixels = refine_steps, max_pixels
        self.model, self.classes = base_model, base_classes

    @property
    def taught(self) -> tuple[str, ...]:
        return self.classes.names[self.base_classes.num_classes :]

    def restore(self) -> bool:
        """Load the taught model of ``state_path``; False when there is none, or (with
        one warning naming the file and the problem) when it cannot be used: unreadable,
        taught on another base checkpoint, or classes, palette and model that disagree."""
        if not self.state_path.is_file():
            return False
        try:
            model, classes = self._load_state()
        except (CheckpointError, ValueError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self.warn(
                f"taught classes NOT restored from {self.state_path}: {reason}; "
                "serving the base classes"
            )
            return False
        self.model, self.classes = model, classes
        taught = ", ".join(self.taught) or "none"
        self.log(f"restored taught classes {taught} from {self.state_path}")
        return True

    def _load_state(self) -> tuple[nn.Module, ClassSet]:
        """The state file's model and classes; ``load_model`` validates the checkpoint's
        fields (``CheckpointError``), the rest is checked here (``ValueError``)."""
        model, payload = load_model(self.state_path)
        if payload.get("fewshot_base_sha256") != self.base_sha256:
            raise ValueError("it was taught on another base checkpoint")
        palette = payload.get("palette")
        if palette is None:
            raise ValueError("it has no palette")
        # ValueError when names and colours disagree
        classes = ClassSet(tuple(payload["class_names"]), tuple(tuple(c) for c in palette))
        if classes.names[: self.base_classes.num_classes] != self.base_classes.names:
            raise ValueError("its classes do not start with the base classes")
        predicted = _predicted_classes(model)
        if predicted is not None and predicted != classes.num_classes:
            raise ValueError(
                f"its model predicts {predicted} classes for {classes.num_classes} names"
            )
        return model, classes

    def plan(self) -> tuple[dict[str, list[SupportPair]], tuple[str, ...]]:
        """The classes to teach (with their checked supports) and to forget.

        Raises:
            SupportError: a bad support folder or support frame.
        """
        if not self.support_dir.is_dir():
            raise SupportError(f"support folder {self.support_dir} not found")
        supports = {
            name: pairs
            for name, pairs in _class_folders(self.support_dir, self.max_pixels).items()
            if name not in self.taught
        }
        for name, pairs in supports.items():
            check_support(name, pairs, self.classes)
        removed = tuple(name for name in self.taught if not (self.support_dir / name).is_dir())
        return supports, removed

    def sync(self, plan=None, cancelled: Callable[[], bool] = never_cancelled) -> SyncResult:
        """Teach the folder's new classes, forget the removed ones (``plan``: from
        ``plan()``, else made now); the current model is not changed (the result holds
        a new one). ``cancelled`` is asked between teaching steps.

        Raises:
            SupportError: a bad support folder (nothing is changed).
            TeachingCancelled: ``cancelled()`` said so (nothing is changed or saved).
        """
        added, removed = plan if plan is not None else self.plan()
        if not added and not removed:
            return SyncResult(self.model, self.classes, (), ())
        model = copy.deepcopy(self.model)
        classes = remove_classes(model, self.classes, removed) if removed else self.classes
        classes = imprint_classes(
            model, classes, added, self.input_size, self.alpha, self.refine_steps, cancelled
        )
        self._save(model, classes)
        self.model, self.classes = model, classes
        return SyncResult(model, classes, tuple(added), removed)

    def _save(self, model: nn.Module, classes: ClassSet) -> None:
        payload = without_training_state(self.base_payload)
        payload.update(
            state_dict=model.state_dict(),
            class_names=list(classes.names),
            palette=[list(c) for c in classes.colors],
            fewshot_base_sha256=self.base_sha256,
        )
        save_checkpoint(self.state_path, payload, half=False)


def _class_folders(root: Path, max_pixels: int) -> dict[str, list[SupportPair]]:
    """``read_support_folder``, with no class folder meaning no class (not an error)."""
    if not any(p.is_dir() for p in root.iterdir()):
        return {}
    return read_support_folder(root, max_pixels)


def _predicted_classes(model: nn.Module) -> int | None:
    """How many classes ``model`` predicts (its cosine classifiers' proxy rows), or None."""
    from .adaptive_proxies import AdaptiveProxies

    try:
        return AdaptiveProxies(model).num_classes
    except (ValueError, AttributeError):
        return None
