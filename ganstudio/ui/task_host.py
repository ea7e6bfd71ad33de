"""The window side of the task platform (a MainWindow mixin): installs the task UIs found in
ui/tasks, runs their jobs, draws job previews on the canvas, and applies finished results through
the job's TaskUI after the placement check (jobs/placement.py). Results and inputs are freed once
applied (or refused).

Everything here works from the Job's data: ``job.placement`` (document id, rect, revision,
frame, the TaskUI id) says where the result goes; no closure is kept per job. The legacy
``run_task(title, task_fn, inputs, request, apply)`` keeps working for older task UIs (its apply
callback rides in ``job.data``; results are still checked against the placement).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ganstudio.core.geometry import Rect
from ganstudio.jobs import Job, JobState
from ganstudio.jobs.placement import Placement, Resolution, resolve

if TYPE_CHECKING:
    from ganstudio.core.document import Document
    from ganstudio.tasks.base import Progress, TaskInputs

    from .tasks.base import TaskUI

log = logging.getLogger(__name__)


class TaskHost:
    """Mixin of MainWindow (it provides documents, canvases, job_queue, job_bridge, docks...)."""

    task_uis: dict[str, TaskUI]

    def _init_task_host(self) -> None:
        self.task_uis = {}
        self._preview_jobs: dict[int, Any] = {}   # job id -> canvas showing its preview
        self.awaiting: dict[int, Job] = {}        # finished jobs shown as a preview, not yet applied
        self.preview_ai_results = False           # Filters > AI > Preview results before applying
        try:
            from .settings import settings

            self.preview_ai_results = str(settings().value("ai/preview_results", "false")).lower() \
                in ("1", "true", "yes")
        except Exception:  # noqa: BLE001
            pass
        self.job_bridge.state_changed.connect(self._job_state)
        self.job_bridge.progress_changed.connect(self._job_progress)

    # == task UIs ===================================================================================
    def _install_task_uis(self) -> None:
        from .tasks import discover

        for found in discover():
            for cls in found.classes:
                try:
                    ui = cls()
                    if ui.id in self.task_uis:
                        raise ValueError(f"two task UIs with the id {ui.id!r}")
                    self.task_uis[ui.id] = ui
                    ui.install(self)
                except Exception:  # noqa: BLE001 - one broken task UI must not stop the window
                    log.error("task UI %s.%s failed to install:\n%s", found.name, cls.__name__,
                              traceback.format_exc())
            if not found.classes and found.install is not None:
                try:
                    found.install(self)
                except Exception:  # noqa: BLE001
                    log.error("task UI %s failed to install:\n%s", found.name, traceback.format_exc())
        self._install_preview_action()

    def _install_preview_action(self) -> None:
        """Filters > AI > Preview results before applying (checkable, remembered)."""
        try:
            menu = self.menu("Filters/AI")  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - no menu bar (tests without one)
            return
        act = menu.addAction("Preview results before applying")
        act.setObjectName("action_preview_ai_results")
        act.setCheckable(True)
        act.setChecked(self.preview_ai_results)
        act.setStatusTip("Show an AI result on the canvas first, with Apply / Discard (and "
                         "another variation where the model has a seed) in the Jobs panel")
        act.toggled.connect(self.set_preview_ai_results)
        self.qactions["preview_ai_results"] = act  # type: ignore[attr-defined]
        panel = getattr(self, "jobs_panel", None)
        if panel is not None and hasattr(panel, "apply_requested"):
            panel.apply_requested.connect(self.apply_preview)
            panel.discard_requested.connect(self.discard_preview)
            panel.vary_requested.connect(self.vary_preview)

    def set_preview_ai_results(self, on: bool) -> None:
        self.preview_ai_results = bool(on)
        try:
            from .settings import settings

            settings().setValue("ai/preview_results", "true" if on else "false")
        except Exception:  # noqa: BLE001
            pass
        act = getattr(self, "qactions", {}).get("preview_ai_results")
        if act is not None and act.isChecked() != bool(on):
            act.setChecked(bool(on))

    def task_ui(self, ui_id: str) -> TaskUI | None:
        return self.task_uis.get(ui_id)

    def _ui_for(self, job: Job) -> TaskUI | None:
        """The TaskUI that applies ``job``: ``placement.ui``, else the one whose id or task is the
        job's task."""
        key = job.placement.ui if job.placement is not None else ""
        if key:
            return self.task_uis.get(key)
        return self.task_uis.get(job.task) or next(
            (u for u in self.task_uis.values() if u.task == job.task), None)

    # == submitting ===================================================================================
    def placement(self, rect: Rect | None = None, **kw: Any) -> Placement:
        """A placement over ``rect`` (default: the canvas) of the active document, as it is now."""
        doc = self.document
        if doc is None:
            raise RuntimeError("no document is open")
        return Placement.of(doc, rect, **kw)

    def document_by_id(self, doc_id: int) -> Document | None:
        return next((d for d in self.documents if getattr(d, "uid", None) == doc_id), None)

    def run_job(self, job: Job) -> Job:
        """Queue a Job (task name + Request + inputs + placement); its TaskUI applies the result
        on the main thread after the placement check."""
        if job.placement is None and self.document is not None:
            job.placement = Placement.of(self.document)
        if job.placement is not None:
            job.placement.request = job.request
            if not job.placement.ui and "apply" not in job.data:
                ui = self._ui_for(job)
                job.placement.ui = ui.id if ui is not None else ""
            self._prepare_layers_off_thread(job)
            if self.preview_ai_results and "apply" not in job.data and self._previewable(job):
                job.data["offer_preview"] = True     # the bridge makes its preview image off-thread
        ctx = self.preferences.task_context()
        job.ctx = ctx
        self.job_queue.submit(job)
        self.docks["jobs"].show()
        self.docks["jobs"].raise_()
        self.status_message(f"{job.title}: started")
        return job

    def _prepare_layers_off_thread(self, job: Job) -> None:
        """A TaskUI that adds the output layers as they are (the default ``apply``): the job
        bridge converts them to layer pixels on the worker thread (no full-size copy here)."""
        from ganstudio.jobs.runner import wants_16bit

        from .tasks.base import TaskUI

        ui = None if "apply" in job.data or job.placement is None else self._ui_for(job)
        if ui is None or type(ui).apply is not TaskUI.apply:
            return
        doc = self.document_by_id(job.placement.doc_id)
        if doc is not None:
            job.data["prepare_layers"] = wants_16bit(doc)

    def run_task(self, title: str, task_fn: Callable, inputs: TaskInputs, request: Any,
                 apply: Callable[[Document, Any], Any], *,
                 on_error: Callable[[Job], Any] | None = None) -> Job:
        """Legacy API: run ``task_fn`` and call ``apply(doc, result)`` on the main thread.

        Its placement refuses the result when the document was cropped / resized meanwhile (the
        callback cannot be re-targeted)."""
        doc = self.document
        placement = Placement.of(doc, retarget="refuse") if doc is not None else None
        job = Job(title, task_fn, inputs, request, placement=placement)
        job.data["apply"] = apply
        job.data["on_error"] = on_error
        return self.run_job(job)

    def pending_jobs(self) -> list[Job]:
        """Jobs whose result has not been handled yet (queued, running, or finished and waiting
        for the main thread)."""
        return [j for j in self.job_queue.jobs if not j.data.get("handled")
                and ("apply" in j.data or (j.placement is not None and self._ui_for(j) is not None))]

    # == previews =====================================================================================
    def show_preview(self, rect: Rect, image: np.ndarray) -> None:
        canvas = self.canvas
        if canvas is not None:
            canvas.show_preview(rect, image)

    def clear_preview(self) -> None:
        canvas = self.canvas
        if canvas is not None:
            canvas.clear_preview()

    def _canvas_of(self, doc: Document | None) -> Any:
        st = self._state_of(doc) if doc is not None else None
        return st.canvas if st is not None else None

    def _job_progress(self, job: Job, p: Progress) -> None:
        if p.preview is None or job.placement is None or job.done:
            return
        doc = self.document_by_id(job.placement.doc_id)
        res = resolve(job.placement, doc)
        if not res.ok or res.rect is None:
            return
        r = res.rect
        if p.preview_rect is not None:
            x, y, w, h = (int(v) for v in p.preview_rect)
            r = Rect(r.x + x, r.y + y, w, h)
        canvas = self._canvas_of(doc)
        if canvas is not None:
            canvas.show_preview(r, p.preview)
            self._preview_jobs[job.id] = canvas

    def _end_preview(self, job: Job) -> None:
        canvas = self._preview_jobs.pop(job.id, None)
        if canvas is not None and canvas.preview is not None:
            canvas.clear_preview()

    # == results ======================================================================================
    def _job_state(self, job: Job, state: JobState) -> None:
        if not state.done or job.data.get("handled"):
            return
        self._end_preview(job)
        legacy = "apply" in job.data
        ui = None if legacy or job.placement is None else self._ui_for(job)
        if not legacy and ui is None:
            return  # not a window job (submitted straight to the queue)
        job.data["handled"] = True
        with self.actions_batch():        # the apply's document events: one action update
            self._job_state_done(job, state, legacy, ui)

    def _job_state_done(self, job: Job, state: JobState, legacy: bool, ui: TaskUI | None) -> None:
        self._update_device(job)
        try:
            if state is JobState.CANCELLED:
                if job.superseded_by is None:
                    self.status_message(f"{job.title}: cancelled")
            elif state is JobState.FAILED:
                on_error = job.data.get("on_error")
                if legacy and on_error is not None:
                    on_error(job)
                elif ui is not None:
                    ui.failed(job)
                else:
                    self.show_error(job.title, job.error or "The job failed.")
            elif state is JobState.FINISHED:
                if job.data.get("offer_preview") and self._offer_result(job, ui):
                    return                      # shown; Apply / Discard decide (job kept)
                self._apply_result(job, ui)
        finally:
            if job.id not in self.awaiting:
                job.release()
                job.data.pop("apply", None)
                job.data.pop("on_error", None)
            self._update_actions()

    # == preview before applying (#16) ================================================================
    def _previewable(self, job: Job) -> bool:
        """A result the window can show as it will land: a TaskUI with the default apply (its
        output layers added as they are), or one that says so (``preview_result = True``)."""
        from .tasks.base import TaskUI

        ui = self._ui_for(job)
        if ui is None or job.kind != "run":
            return False
        flag = getattr(ui, "preview_result", None)
        return bool(flag) if flag is not None else type(ui).apply is TaskUI.apply

    def _offer_result(self, job: Job, ui: TaskUI | None) -> bool:
        """Show the finished result on the canvas and wait for Apply / Discard (Jobs panel)."""
        placement = job.placement
        doc = self.document_by_id(placement.doc_id) if placement is not None else None
        res = resolve(placement, doc) if placement is not None else None
        image = job.data.pop("preview_image", None)
        if res is None or not res.ok or res.rect is None or image is None or job.result is None:
            return False
        rect = job.data.pop("preview_rect", None)
        r = res.rect if rect is None else Rect(res.rect.x + rect[0], res.rect.y + rect[1], rect[2], rect[3])
        canvas = self._canvas_of(doc)
        if canvas is None:
            return False
        canvas.show_preview(r, image)
        self._preview_jobs[job.id] = canvas
        job.data["awaiting"] = True
        self.awaiting[job.id] = job
        self.job_bridge.decision_needed.emit(job)
        self.status_message(f"{job.title}: preview — Apply or Discard it in the Jobs panel", 0)
        return True

    def apply_preview(self, job: Job) -> bool:
        """Apply an awaiting result (one undo step; the placement is checked again now)."""
        if self.awaiting.pop(job.id, None) is None:
            return False
        self._end_preview(job)
        try:
            self._apply_result(job, None if "apply" in job.data else self._ui_for(job))
        finally:
            self._finish_decision(job, "applied" if job.data.get("applied") else "not applied")
        return bool(job.data.get("applied"))

    def discard_preview(self, job: Job) -> None:
        if self.awaiting.pop(job.id, None) is None:
            return
        self._end_preview(job)
        self._finish_decision(job, "discarded")
        self.status_message(f"{job.title}: discarded")

    def vary_preview(self, job: Job) -> Job | None:
        """Discard an awaiting result and run the same request with the next seed."""
        import dataclasses

        request = job.request
        ui = self._ui_for(job)
        if ui is None or request is None or not hasattr(request, "seed"):
            return None
        self.discard_preview(job)
        try:
            nxt = dataclasses.replace(request, seed=int(request.seed) + 1)
        except (TypeError, ValueError):
            return None
        return ui.submit(nxt)

    def _finish_decision(self, job: Job, outcome: str) -> None:
        job.data["awaiting"] = False
        job.data["decision"] = outcome
        job.release()
        job.data.pop("apply", None)
        job.data.pop("on_error", None)
        self.job_bridge.decision_made.emit(job)
        self._update_actions()

    def _apply_result(self, job: Job, ui: TaskUI | None) -> None:
        placement = job.placement
        if placement is None:
            self.status_message(f"{job.title}: finished, but no image was open")
            return
        doc = self.document_by_id(placement.doc_id)
        res: Resolution = resolve(placement, doc)
        if not res.ok or doc is None:
            if doc is None:
                self.status_message(f"{job.title}: finished, but its image was closed")
            elif ui is not None:
                ui.refused(job, res)
            else:
                self.show_error(job.title, f"The result was not added: {res.reason}.")
            job.data["refused"] = res.reason
            return
        placed = placement
        if res.retargeted and res.rect is not None:
            import dataclasses

            placed = dataclasses.replace(placement, rect=res.rect)
            placed.request = placement.request
        try:
            with doc.history.transaction(job.title):
                if ui is not None:
                    ui.apply(doc, job.result, placed)
                else:
                    job.data["apply"](doc, job.result)
        except Exception as exc:  # noqa: BLE001
            log.error("applying %s failed:\n%s", job.title, traceback.format_exc())
            job.error = f"{type(exc).__name__}: {exc}"
            self.show_error(job.title, f"The result could not be added: {exc}")
            return
        job.data["applied"] = True
        if ui is not None:
            ui.applied(job, res)
        else:
            note = f" ({res.reason})" if res.retargeted else ""
            self.status_message(f"{job.title}: done{note}")


__all__ = ["TaskHost"]
