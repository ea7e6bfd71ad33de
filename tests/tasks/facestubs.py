"""Tiny random-weight face networks of the official architectures (e4e, SAM: IR-SE encoders +
rosinality StyleGAN2), a stand-in for the edit directions, and a FaceModels factory for tests."""

from __future__ import annotations

import numpy as np

from ganstudio.tasks import face_edit

TINY = dict(stylegan_size=64, style_dim=32, n_mlp=2, channel_multiplier=1, max_channels=16,
            encoder={"units": (1, 1, 1, 1), "widths": (16, 16, 16, 16)})


class StubDirections:
    """Stand-in for tasks/faces/latent_edits (InterFaceGAN-style: w + value * direction)."""

    def __init__(self, dim: int) -> None:
        g = np.random.default_rng(7)
        self.dirs = {k: g.standard_normal((1, dim)).astype(np.float32) for k in face_edit.SLIDER_NAMES}

    def has(self, name: str) -> bool:
        return name in self.dirs

    def names(self) -> list[str]:
        return sorted(self.dirs)

    def apply(self, w: np.ndarray, edits: dict) -> np.ndarray:
        out = w.copy()
        for k, v in edits.items():
            out = out + v * self.dirs[k]
        return out


class Counting:
    def __init__(self, fn):
        self.fn, self.calls = fn, 0

    def __call__(self, *a, **k):
        self.calls += 1
        return self.fn(*a, **k)


_NETS = None


def tiny_nets():
    """(e4e, sam) built once per test session, encoders wrapped in call counters."""
    global _NETS
    if _NETS is None:
        import torch

        from ganstudio.archs.e4e_arch import E4E
        from ganstudio.archs.sam_arch import SAM

        torch.manual_seed(0)
        e4e = E4E(**TINY).eval()
        sam = SAM(**TINY).eval()
        with torch.no_grad():
            e4e.latent_avg.normal_(0, 0.5)
            sam.latent_avg.copy_(e4e.latent_avg)
        e4e.encode = Counting(e4e.encode)
        sam.encode_age = Counting(sam.encode_age)
        _NETS = (e4e, sam)
    return _NETS


def install_tiny_models() -> list:
    """Route face_edit's model loading to the tiny nets; returns the list of built FaceModels."""
    from ganstudio.tasks.device import select_device

    e4e, sam = tiny_nets()
    # one thread: the CI machine has 2 cores shared by everything (two spinning threads are ~8x
    # slower than one under load)
    dev = select_device("cpu", precision="fp32", threads=1)
    dirs = StubDirections(32)
    built: list = []

    def factory(req, ctx, need_age):
        m = face_edit.FaceModels(e4e, dev=dev, sam=sam if need_age else None, directions=dirs,
                                 ids={"model": req.model_id,
                                      **({"age_model": req.age_model_id} if need_age else {})})
        built.append(m)
        return m

    face_edit.set_model_factory(factory)
    return built
