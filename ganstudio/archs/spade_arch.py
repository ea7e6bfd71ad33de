"""SPADE / GauGAN generator (Park et al. 2019, NVlabs/SPADE), official parameter names.

Written from the paper and the official code's structure; loads the official
``{ade20k,coco,cityscapes}_pretrained/latest_net_G.pth`` state dicts strictly.

* ``SPADEGenerator(semantic_nc, ngf=64, num_upsampling_layers="normal", crop_size=256,
  aspect_ratio=1.0, norm_G="spectralspadesyncbatch3x3", use_vae=False, z_dim=256)``:
  ``fc`` (3x3 conv on the one-hot map resized nearest to the latent grid sh x sw; a Linear from
  z when ``use_vae``), ``head_0``, x2, ``G_middle_0``, [x2 for more/most], ``G_middle_1``, then
  x2 + ``up_0`` (16->8 nf), ``up_1`` (->4), ``up_2`` (->2), ``up_3`` (->1) [, x2 + ``up_4`` for
  most], ``conv_img(leaky_relu(x, 0.2))`` -> tanh. Upsampling is nearest x2.
  Latent grid: sw = crop_size / 2^L (L = 5 normal, 6 more, 7 most), sh = round(sw / aspect_ratio),
  as the official code; ``forward(seg, z=None, latent_size=(sh, sw))`` overrides it for other
  output sizes / aspect ratios (output = latent * 2^L).
* ``SPADEResnetBlock``: ``conv_0`` (fin -> min(fin, fout)), ``conv_1``, ``conv_s`` (1x1, no bias,
  only when fin != fout) with spectral norm when ``norm_G`` starts with "spectral";
  ``norm_0``/``norm_1``/``norm_s`` = SPADE: ``param_free_norm`` (BatchNorm affine=False for
  syncbatch/batch - running stats in eval -, or InstanceNorm), ``mlp_shared.0`` (semantic_nc ->
  128, k), ``mlp_gamma`` / ``mlp_beta`` (128 -> C, k); ``norm(x) * (1 + gamma) + beta``.
  Activation leaky_relu 0.2 (``x_s + conv_1(act(norm_1(conv_0(act(norm_0(x))))))``).
* ``SNConv2d``: spectral norm with the keys of ``torch.nn.utils.spectral_norm`` (``weight_orig``
  parameter, ``weight_u`` [out] / ``weight_v`` [in*k*k] buffers) and its semantics: in training
  mode one power iteration (u, v updated in place, eps 1e-12) then sigma = u . (W v); in eval
  mode no iteration: sigma from the stored u and v.
* Input: ``spade_semantics(labels, dataset, instances=None)`` builds the one-hot input exactly as
  the official preprocessing (label 255 -> the don't-care channel where the dataset has one;
  ADE20K ids shifted by -1, 0 -> 150 after that; COCO / Cityscapes: instance-edge channel).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class SpadeDataset:
    name: str
    label_nc: int
    dontcare: bool
    instance: bool
    crop_size: int
    aspect_ratio: float
    num_upsampling_layers: str

    @property
    def semantic_nc(self) -> int:
        return self.label_nc + (1 if self.dontcare else 0) + (1 if self.instance else 0)


DATASETS = {
    "ade20k": SpadeDataset("ade20k", 150, True, False, 256, 1.0, "normal"),
    "coco": SpadeDataset("coco", 182, True, True, 256, 1.0, "normal"),
    "cityscapes": SpadeDataset("cityscapes", 35, False, True, 512, 2.0, "more"),
}
UP_LAYERS = {"normal": 5, "more": 6, "most": 7}


class LabelRangeError(ValueError):
    """Label ids a SPADE configuration cannot encode."""


def _l2normalize(v: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    return v / v.norm().clamp_min(eps)


class SNConv2d(nn.Module):
    """Conv2d with spectral normalisation; state-dict keys as torch.nn.utils.spectral_norm."""

    def __init__(self, cin: int, cout: int, k: int, padding: int = 0, bias: bool = True,
                 n_power_iterations: int = 1, eps: float = 1e-12) -> None:
        super().__init__()
        ref = nn.Conv2d(cin, cout, k, padding=padding, bias=bias)
        self.padding = padding
        self.n_power_iterations = n_power_iterations
        self.eps = eps
        self.weight_orig = nn.Parameter(ref.weight.detach().clone())
        self.bias = nn.Parameter(ref.bias.detach().clone()) if bias else None
        h, w = cout, cin * k * k
        self.register_buffer("weight_u", _l2normalize(torch.randn(h), eps))
        self.register_buffer("weight_v", _l2normalize(torch.randn(w), eps))

    def normalized_weight(self) -> torch.Tensor:
        w = self.weight_orig
        mat = w.reshape(w.shape[0], -1)
        u, v = self.weight_u, self.weight_v
        if self.training and self.n_power_iterations > 0:
            with torch.no_grad():
                for _ in range(self.n_power_iterations):
                    v = F.normalize(torch.mv(mat.t(), u), dim=0, eps=self.eps, out=v)
                    u = F.normalize(torch.mv(mat, v), dim=0, eps=self.eps, out=u)
                u = u.clone(memory_format=torch.contiguous_format)
                v = v.clone(memory_format=torch.contiguous_format)
        sigma = torch.dot(u.to(mat.dtype), torch.mv(mat, v.to(mat.dtype)))
        return w / sigma

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.normalized_weight(), self.bias, padding=self.padding)


def _conv(cin: int, cout: int, k: int, padding: int, bias: bool, spectral: bool) -> nn.Module:
    if spectral:
        return SNConv2d(cin, cout, k, padding, bias)
    return nn.Conv2d(cin, cout, k, padding=padding, bias=bias)


class SPADE(nn.Module):
    def __init__(self, config_text: str, norm_nc: int, label_nc: int, nhidden: int = 128) -> None:
        super().__init__()
        m = re.fullmatch(r"spade(\D+)(\d)x\d", config_text)
        if not m:
            raise ValueError(f"unknown SPADE config {config_text!r}")
        kind, ks = m.group(1), int(m.group(2))
        if kind in ("syncbatch", "batch"):
            self.param_free_norm = nn.BatchNorm2d(norm_nc, affine=False)
        elif kind == "instance":
            self.param_free_norm = nn.InstanceNorm2d(norm_nc, affine=False)
        else:
            raise ValueError(f"{kind} is not a param-free norm of SPADE")
        pw = ks // 2
        self.mlp_shared = nn.Sequential(nn.Conv2d(label_nc, nhidden, ks, padding=pw), nn.ReLU())
        self.mlp_gamma = nn.Conv2d(nhidden, norm_nc, ks, padding=pw)
        self.mlp_beta = nn.Conv2d(nhidden, norm_nc, ks, padding=pw)

    def forward(self, x: torch.Tensor, segmap: torch.Tensor) -> torch.Tensor:
        normalized = self.param_free_norm(x)
        segmap = F.interpolate(segmap, size=x.shape[2:], mode="nearest")
        actv = self.mlp_shared(segmap)
        return normalized * (1 + self.mlp_gamma(actv)) + self.mlp_beta(actv)


class SPADEResnetBlock(nn.Module):
    def __init__(self, fin: int, fout: int, semantic_nc: int, norm_G: str) -> None:
        super().__init__()
        self.learned_shortcut = fin != fout
        fmiddle = min(fin, fout)
        spectral = norm_G.startswith("spectral")
        self.conv_0 = _conv(fin, fmiddle, 3, 1, True, spectral)
        self.conv_1 = _conv(fmiddle, fout, 3, 1, True, spectral)
        if self.learned_shortcut:
            self.conv_s = _conv(fin, fout, 1, 0, False, spectral)
        cfg = norm_G.replace("spectral", "")
        self.norm_0 = SPADE(cfg, fin, semantic_nc)
        self.norm_1 = SPADE(cfg, fmiddle, semantic_nc)
        if self.learned_shortcut:
            self.norm_s = SPADE(cfg, fin, semantic_nc)

    def forward(self, x: torch.Tensor, seg: torch.Tensor) -> torch.Tensor:
        x_s = self.conv_s(self.norm_s(x, seg)) if self.learned_shortcut else x
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, seg), 2e-1))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, seg), 2e-1))
        return x_s + dx


class SPADEGenerator(nn.Module):
    def __init__(self, semantic_nc: int = 151, ngf: int = 64, num_upsampling_layers: str = "normal",
                 crop_size: int = 256, aspect_ratio: float = 1.0,
                 norm_G: str = "spectralspadesyncbatch3x3", use_vae: bool = False, z_dim: int = 256,
                 dataset: str | None = None) -> None:
        super().__init__()
        if num_upsampling_layers not in UP_LAYERS:
            raise ValueError(f"num_upsampling_layers must be one of {sorted(UP_LAYERS)}")
        self.semantic_nc = semantic_nc
        self.ngf = nf = ngf
        self.num_upsampling_layers = num_upsampling_layers
        self.use_vae = use_vae
        self.z_dim = z_dim
        self.dataset = dataset
        self.n_up = UP_LAYERS[num_upsampling_layers]
        self.sw = crop_size // (2 ** self.n_up)
        self.sh = round(self.sw / aspect_ratio)
        if use_vae:
            self.fc = nn.Linear(z_dim, 16 * nf * self.sw * self.sh)
        else:
            self.fc = nn.Conv2d(semantic_nc, 16 * nf, 3, padding=1)
        blk = lambda a, b: SPADEResnetBlock(a, b, semantic_nc, norm_G)  # noqa: E731
        self.head_0 = blk(16 * nf, 16 * nf)
        self.G_middle_0 = blk(16 * nf, 16 * nf)
        self.G_middle_1 = blk(16 * nf, 16 * nf)
        self.up_0 = blk(16 * nf, 8 * nf)
        self.up_1 = blk(8 * nf, 4 * nf)
        self.up_2 = blk(4 * nf, 2 * nf)
        self.up_3 = blk(2 * nf, 1 * nf)
        final_nc = nf
        if num_upsampling_layers == "most":
            self.up_4 = blk(nf, nf // 2)
            final_nc = nf // 2
        self.conv_img = nn.Conv2d(final_nc, 3, 3, padding=1)

    @property
    def multiple(self) -> int:
        return 2 ** self.n_up

    def output_size(self, latent_size: tuple[int, int] | None = None) -> tuple[int, int]:
        sh, sw = latent_size or (self.sh, self.sw)
        return sh * self.multiple, sw * self.multiple

    @staticmethod
    def _up(x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=2, mode="nearest")

    def forward(self, seg: torch.Tensor, z: torch.Tensor | None = None,
                latent_size: tuple[int, int] | None = None) -> torch.Tensor:
        sh, sw = latent_size or (self.sh, self.sw)
        if self.use_vae:
            if latent_size is not None and tuple(latent_size) != (self.sh, self.sw):
                raise ValueError("a VAE SPADE generator has a fixed latent grid")
            if z is None:
                z = torch.randn(seg.shape[0], self.z_dim, dtype=seg.dtype, device=seg.device)
            x = self.fc(z).view(-1, 16 * self.ngf, self.sh, self.sw)
        else:
            x = self.fc(F.interpolate(seg, size=(sh, sw), mode="nearest"))
        x = self.head_0(x, seg)
        x = self._up(x)
        x = self.G_middle_0(x, seg)
        if self.num_upsampling_layers in ("more", "most"):
            x = self._up(x)
        x = self.G_middle_1(x, seg)
        for name in ("up_0", "up_1", "up_2", "up_3"):
            x = self._up(x)
            x = getattr(self, name)(x, seg)
        if self.num_upsampling_layers == "most":
            x = self._up(x)
            x = self.up_4(x, seg)
        x = self.conv_img(F.leaky_relu(x, 2e-1))
        return torch.tanh(x)


# --- input preprocessing (official semantics) ------------------------------------------------
def official_label_ids(labels: np.ndarray, dataset: str | SpadeDataset) -> np.ndarray:
    """Raw dataset label ids (as in the dataset's PNGs) -> the generator's channel indices.

    Exactly the official data pipeline: label 255 -> label_nc (the "unknown" id); ADE20K then
    subtracts 1 and turns -1 (raw 0, "other") into 150 (so a raw 255 ends up as 149, as in the
    official code). Indices >= the one-hot size raise LabelRangeError naming them (the official
    code would fail in scatter_).
    """
    ds = DATASETS[dataset] if isinstance(dataset, str) else dataset
    raw = np.asarray(labels).astype(np.int64)
    nc = ds.label_nc + (1 if ds.dontcare else 0)

    def convert(lab):
        lab = np.where(lab == 255, ds.label_nc, lab)
        if ds.name == "ade20k":
            lab = lab - 1
            lab = np.where(lab == -1, ds.label_nc, lab)
        return lab

    uniq = np.unique(raw)
    mapped = convert(uniq)
    bad = uniq[(mapped < 0) | (mapped >= nc)]
    if bad.size:
        allowed = {"ade20k": "0..150 (151 and 255 fall on don't-care)", "coco": "0..181 and 255", "cityscapes": "0..34"}.get(
            ds.name, f"0..{nc - 1}")
        raise LabelRangeError(f"label ids outside the {ds.name} label set ({allowed}): "
                              f"{[int(v) for v in bad[:20]]}{' ...' if bad.size > 20 else ''}")
    return convert(raw)


def spade_semantics(labels, dataset: str | SpadeDataset, instances=None) -> torch.Tensor:
    """One-hot (+ instance edge) input of a SPADE generator, (B, semantic_nc, H, W) float32.

    ``labels``: HxW or BxHxW raw dataset ids (numpy or tensor). ``instances``: same shape, the
    instance map for datasets with an instance channel; None -> the label map itself is used
    (edges at class boundaries; painted maps have no instances).
    """
    ds = DATASETS[dataset] if isinstance(dataset, str) else dataset
    lab = labels.cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    if lab.ndim == 2:
        lab = lab[None]
    idx = torch.from_numpy(official_label_ids(lab, ds))[:, None]
    nc = ds.label_nc + (1 if ds.dontcare else 0)
    b, _, h, w = idx.shape
    sem = torch.zeros(b, nc, h, w).scatter_(1, idx, 1.0)
    if ds.instance:
        inst = lab if instances is None else (
            instances.cpu().numpy() if isinstance(instances, torch.Tensor) else np.asarray(instances))
        if inst.ndim == 2:
            inst = inst[None]
        t = torch.from_numpy(inst.astype(np.int64))[:, None]
        edge = torch.zeros(t.shape, dtype=torch.bool)
        edge[:, :, :, 1:] |= t[:, :, :, 1:] != t[:, :, :, :-1]
        edge[:, :, :, :-1] |= t[:, :, :, 1:] != t[:, :, :, :-1]
        edge[:, :, 1:, :] |= t[:, :, 1:, :] != t[:, :, :-1, :]
        edge[:, :, :-1, :] |= t[:, :, 1:, :] != t[:, :, :-1, :]
        sem = torch.cat([sem, edge.float()], 1)
    return sem


# --- registry ---------------------------------------------------------------------------------
def _detect(sd: dict) -> dict | None:
    w = sd.get("fc.weight")
    if w is None or "head_0.conv_0.weight_orig" not in sd and "head_0.conv_0.weight" not in sd:
        return None
    kw: dict = {}
    if w.ndim == 4:
        kw["semantic_nc"] = int(w.shape[1])
        kw["ngf"] = int(w.shape[0]) // 16
    else:
        kw["use_vae"] = True
        kw["z_dim"] = int(w.shape[1])
        kw["semantic_nc"] = int(sd["head_0.norm_0.mlp_shared.0.weight"].shape[1])
        kw["ngf"] = int(sd["head_0.conv_0.weight_orig" if "head_0.conv_0.weight_orig" in sd
                           else "head_0.conv_0.weight"].shape[0]) // 16
    kw["num_upsampling_layers"] = "most" if any(k.startswith("up_4.") for k in sd) else "normal"
    spectral = "head_0.conv_0.weight_orig" in sd
    bn = "head_0.norm_0.param_free_norm.running_mean" in sd
    ks = int(sd["head_0.norm_0.mlp_shared.0.weight"].shape[-1])
    kw["norm_G"] = ("spectral" if spectral else "") + ("spadesyncbatch" if bn else "spadeinstance") + f"{ks}x{ks}"
    for name, ds in DATASETS.items():
        if ds.semantic_nc == kw["semantic_nc"]:
            kw.setdefault("dataset", name)
            if name == "cityscapes":
                kw.setdefault("num_upsampling_layers", "more")
                kw["crop_size"], kw["aspect_ratio"] = ds.crop_size, ds.aspect_ratio
                if kw["num_upsampling_layers"] == "normal":
                    kw["num_upsampling_layers"] = "more"
    return kw


def build(**kwargs) -> SPADEGenerator:
    ds = kwargs.get("dataset")
    if ds in DATASETS:
        d = DATASETS[ds]
        nc = kwargs.get("semantic_nc")
        if nc is not None and int(nc) != d.semantic_nc:
            other = next((n for n, o in DATASETS.items() if o.semantic_nc == int(nc)), "another label set")
            raise ValueError(f"this SPADE checkpoint takes {nc} input channels ({other}); the {ds} "
                             f"configuration needs {d.semantic_nc}: a checkpoint for another label set")
        kwargs.setdefault("semantic_nc", d.semantic_nc)
        kwargs.setdefault("crop_size", d.crop_size)
        kwargs.setdefault("aspect_ratio", d.aspect_ratio)
        kwargs.setdefault("num_upsampling_layers", d.num_upsampling_layers)
    return SPADEGenerator(**kwargs)


try:  # the task platform's registry (issue 8)
    from .registry import register_arch
except ImportError:  # pragma: no cover
    register_arch = None
if register_arch is not None:
    register_arch("spade", detect=_detect)(build)
