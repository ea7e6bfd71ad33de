"""Qt-free job queue, backends and the runner that adapts a Document to task inputs and results to layers."""

from .backend import Backend, LocalBackend
from .job import Job, JobState
from .queue import JobQueue

__all__ = ["Backend", "Job", "JobQueue", "JobState", "LocalBackend"]
