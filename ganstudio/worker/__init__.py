"""A warm worker for the command line: ``ganstudio worker start`` keeps one process with torch and
every task module imported; later ``ganstudio <command>`` calls are forked from it, so they skip
the ~3 s of ``import torch`` (measured in docs/benchmarks/startup.md) and start in a fraction of a
second.

Why hand-written: the tools that do this (Nailgun for the JVM, dmypy, the Gradle daemon) are not
Python libraries we can reuse, and ``multiprocessing.forkserver`` forks workers for Python callables
inside one program, not for separate command-line invocations that must keep their own terminal,
working directory, environment, exit status and Ctrl+C.

How: the client (:mod:`.client`, standard library only, imported by ``ganstudio.cli.entry`` before
anything heavy) connects to a Unix socket in a private folder, sends its argv, working directory
and environment, and passes its own stdin/stdout/stderr file descriptors (SCM_RIGHTS). The server
(:mod:`.server`) checks the peer is the same user and the same installation, forks, and the child
runs the command on the client's terminal, so progress bars, colours and pipes behave exactly as
in-process. The exit status comes back over the socket; Ctrl+C in the client is forwarded to the
child. Anything unexpected (no worker, another version, other import-time settings) makes the
client run the command in-process as before: the worker only ever saves time.

Unix only (fork + SCM_RIGHTS); elsewhere ``ganstudio worker start`` says so and the CLI runs
in-process. ``GANSTUDIO_NO_WORKER=1`` disables it for a call.
"""

from __future__ import annotations

from .protocol import socket_path

__all__ = ["socket_path"]
