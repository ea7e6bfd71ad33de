"""Network architectures, one per file (<name>_arch.py), weight-compatible with public checkpoints. torch only."""
