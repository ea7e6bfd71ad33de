"""Qt-free jobs: a Job is data (task name, Request, inputs, placement), a JobQueue runs jobs on a
Backend (LocalBackend: worker threads; ProcessBackend: a child process), the runner adapts a
Document to task inputs and results to layers, placement checks where a result may still go."""

from .backend import Backend, LocalBackend
from .job import Job, JobState
from .placement import Placement, Resolution, resolve
from .queue import JobQueue

__all__ = ["Backend", "Job", "JobQueue", "JobState", "LocalBackend", "Placement", "Resolution",
           "resolve"]
