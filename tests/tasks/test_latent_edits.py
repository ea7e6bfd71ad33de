"""InterFaceGAN / GANSpace edits: the official math, catalog-declared presets, file loading."""

from __future__ import annotations

import types

import numpy as np
import pytest
import torch

from ganstudio.models.catalog import default_catalog
from ganstudio.tasks.faces.latent_edits import (DirectionError, EditDirections, directions_from_files,
                                                ganspace_coord, ganspace_delta, ganspace_edit,
                                                interfacegan_edit, load_directions, specs_from_entry)

# MODELS.md section 6 (e4e repository presets): name -> (component, start, end, strength)
OFFICIAL_PRESETS = {"eye_openness": (54, 7, 8, 20), "smile": (46, 4, 5, -20), "trimmed_beard": (58, 7, 9, 20),
                    "white_hair": (57, 7, 10, -24), "lipstick": (34, 10, 11, 20), "age": (20, 6, 7, 8),
                    "pose_yaw": (1, 0, 18, 0.5), "gender": (0, 0, 18, -1.5), "glasses": (12, 0, 4, 10)}
CATALOG_NAMES = {"eye_openness": "eyes_open", "smile": "ganspace_smile", "trimmed_beard": "beard",
                 "age": "ganspace_age"}


def _pca(seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    comp = torch.randn(80, 1, 512, generator=g)
    comp = comp / comp.norm(dim=-1, keepdim=True)
    return {"mean": torch.randn(1, 512, generator=g), "comp": comp, "std": torch.rand(80, generator=g) + 0.5}


def _official_delta(latent, pca, idx, strength):
    """encoder4editing editings/ganspace.py get_delta, written out (one latent [18, 512])."""
    w_centered = latent - pca["mean"]
    w_coord = torch.sum(w_centered[0].reshape(-1) * pca["comp"][idx].reshape(-1)) / pca["std"][idx]
    return (strength - w_coord) * pca["comp"][idx] * pca["std"][idx]


def _official_edit(latent, pca, idx, start, end, strength):
    delta = _official_delta(latent, pca, idx, strength)
    padded = torch.zeros(latent.shape)
    padded[start:end] += delta.repeat(end - start, 1)
    return latent + padded


@pytest.mark.parametrize("name", sorted(OFFICIAL_PRESETS))
def test_ganspace_matches_the_official_formula(name):
    pca = _pca()
    lat = torch.randn(18, 512) * 0.7 + pca["mean"]
    p = OFFICIAL_PRESETS[name]
    ref = _official_edit(lat, pca, *p)
    assert (ganspace_edit(lat, pca, *p) - ref).abs().max() <= 1e-5
    # numpy in, numpy out; batch of two = each on its own
    out_np = ganspace_edit(lat.numpy(), pca, *p)
    assert isinstance(out_np, np.ndarray) and np.abs(out_np - ref.numpy()).max() <= 1e-5
    lat2 = torch.randn(18, 512)
    both = ganspace_edit(torch.stack([lat, lat2]), pca, *p)
    assert (both[1] - _official_edit(lat2, pca, *p)).abs().max() <= 1e-5
    idx, start, end, strength = p
    delta = ganspace_delta(lat, pca, *p)
    assert (delta[:start] == 0).all() and (delta[end:] == 0).all()
    # after the edit the coordinate of the first row is the preset strength (when row 0 is edited)
    if start == 0:
        assert abs(float(ganspace_coord(ganspace_edit(lat, pca, *p), pca, idx)) - strength) < 1e-3


def test_ganspace_amount_scales_the_official_delta():
    pca = _pca(1)
    lat = torch.randn(18, 512)
    d = ganspace_delta(lat, pca, 12, 0, 4, 10)
    assert torch.allclose(ganspace_edit(lat, pca, 12, 0, 4, 10, amount=0.5), lat + 0.5 * d)
    assert torch.equal(ganspace_edit(lat, pca, 12, 0, 4, 10, amount=0.0), lat)
    with pytest.raises(DirectionError, match="component"):
        ganspace_delta(lat, pca, 80, 0, 4, 10)
    with pytest.raises(DirectionError, match="layers"):
        ganspace_delta(lat, pca, 1, 4, 19, 10)


def test_interfacegan_broadcast_and_per_layer():
    w = torch.randn(2, 18, 512)
    d1 = torch.randn(1, 512)
    d18 = torch.randn(1, 18, 512)
    assert torch.equal(interfacegan_edit(w, d1, 2.5), w + 2.5 * d1)
    assert torch.equal(interfacegan_edit(w, d18, -3), w + -3 * d18)
    assert torch.equal(interfacegan_edit(w[0], d18, 1.0), w[0] + d18[0])
    out = interfacegan_edit(w[0].numpy(), d1, 1.0)
    assert isinstance(out, np.ndarray)
    with pytest.raises(DirectionError, match="layers"):
        interfacegan_edit(torch.randn(8, 512), d18, 1.0)  # a 1024 direction on a smaller generator
    with pytest.raises(DirectionError, match="features"):
        interfacegan_edit(w, torch.randn(1, 16), 1.0)


def test_catalog_declares_the_official_directions_and_presets():
    entry = default_catalog().get("face.e4e_ffhq")
    assert entry.non_commercial and "NON-COMMERCIAL" in entry.licence
    specs = {s.name: s for s in specs_from_entry(entry)}
    for name, preset in OFFICIAL_PRESETS.items():
        s = specs[CATALOG_NAMES.get(name, name)]
        assert s.kind == "ganspace" and s.file == "ffhq_pca.pt"
        assert s.preset == (preset[0], preset[1], preset[2], float(preset[3]))
    assert {n: specs[n].file for n in ("age", "smile", "yaw")} == {"age": "age.pt", "smile": "smile.pt",
                                                                   "yaw": "pose.pt"}
    files = {f.name: f for f in entry.files}
    for n in ("age.pt", "smile.pt", "pose.pt", "ffhq_pca.pt"):
        assert files[n].url.startswith("https://raw.githubusercontent.com/omertov/encoder4editing/")
        assert len(files[n].sha256) == 64 and files[n].size > 0
    assert files["e4e_ffhq_encode.pt"].gdrive == "1cUv_reLE6k3604or78EranS7XzuVMWeO"
    sam = default_catalog().get("face.sam_ffhq_aging")
    assert sam.files[0].gdrive == "1XyumF6_fdAxFmxpFcmPf-q84LU_22EMC" and sam.files[0].size == 2270547237
    assert sam.non_commercial
    nv = default_catalog().get("face.stylegan2_ffhq_nvidia")
    assert nv.converter == "stylegan2_pkl" and nv.non_commercial and "Source Code License-NC" in nv.licence


def test_new_edit_is_a_catalog_edit(tmp_path):
    """An entry with one more preset / direction gets that edit with no code change."""
    pca, d = _pca(2), torch.randn(1, 512)
    torch.save(pca, tmp_path / "pca.pt")
    torch.save(d, tmp_path / "bangs.pt")
    comp = types.SimpleNamespace
    entry = comp(id="user.faces", components={
        "bangs": comp(file="bangs.pt",
                      arch_kwargs={"kind": "interfacegan", "edit": "bangs", "range": [-2, 2]}),
        "pca": comp(file="pca.pt", arch_kwargs={"kind": "ganspace", "presets": {"freckles": [3, 2, 5, 4.0]},
                                                "labels": {"freckles": "Freckles"}})})
    store = comp(entry=lambda mid: entry, path_of=lambda mid, f: tmp_path / f)
    dirs = load_directions("user.faces", store)
    assert dirs.names() == ["bangs", "freckles"] and dirs.spec("bangs").maximum == 2.0
    assert dirs.spec("freckles").label == "Freckles"
    w = torch.randn(18, 512)
    both = dirs.apply(w, {"bangs": 1.5, "freckles": 0.7})
    expect = w + 1.5 * d + 0.7 * ganspace_delta(w, pca, 3, 2, 5, 4.0)
    assert (both - expect).abs().max() <= 1e-5
    # order independent, zero = no change, numpy in -> numpy out
    assert torch.allclose(dirs.apply(w, {"freckles": 0.7, "bangs": 1.5}), both, atol=1e-6)
    assert torch.equal(dirs.apply(w, {"bangs": 0.0}), w)
    assert isinstance(dirs.apply(w.numpy(), {"bangs": 1.0}), np.ndarray)
    with pytest.raises(DirectionError, match="unknown edit"):
        dirs.apply(w, {"wings": 1.0})
    bad = comp(id="x", components={"p": comp(file="pca.pt", arch_kwargs={"kind": "ganspace",
                                                                        "presets": {"a": [1, 2]}})})
    with pytest.raises(DirectionError, match="preset"):
        specs_from_entry(bad)
    with pytest.raises(DirectionError, match="unknown edit kind"):
        specs_from_entry(comp(id="x", components={"p": comp(file="pca.pt", arch_kwargs={"kind": "sefa"})}))


def test_files_saved_on_cuda_and_missing_files(tmp_path):
    # pose.pt in the e4e repository was saved from cuda:0; safeload maps storages to the CPU.
    # (Simulated with a CPU tensor: the loading path is the same weights-only torch.load.)
    torch.save(torch.randn(1, 18, 512), tmp_path / "pose.pt")
    entry = default_catalog().get("face.e4e_ffhq")
    dirs = directions_from_files(specs_from_entry(entry), {"pose.pt": tmp_path / "pose.pt"})
    assert dirs.names() == ["yaw"]  # the other files are not there: those edits are left out
    assert isinstance(dirs, EditDirections)
    (tmp_path / "bad.pt").write_bytes(b"junk")
    with pytest.raises(Exception):
        directions_from_files(specs_from_entry(entry), {"ffhq_pca.pt": tmp_path / "bad.pt"})
