"""Qt-free job queue, backends and the runner that adapts a Document to task inputs and results to layers."""
