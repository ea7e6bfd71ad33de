"""The face-edit session with tiny random-weight e4e / SAM networks of the official architectures:
encoder once per face, generator per slider move, one masked layer per face, bit-exact outside."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")

from ganstudio.tasks import face_edit  # noqa: E402
from ganstudio.tasks.base import TaskContext, TaskError, TaskInputs, drive  # noqa: E402
from ganstudio.tasks.face_edit import (FaceEditRequest, FaceEditSession, FaceModels,  # noqa: E402
                                       parse_edits, strip_grid, synthesize)

from facestubs import install_tiny_models, tiny_nets  # noqa: E402


@pytest.fixture(scope="module")
def nets():
    return tiny_nets()


@pytest.fixture
def models(nets, monkeypatch, tmp_path):
    monkeypatch.setenv("GANSTUDIO_DATA", str(tmp_path / "data"))
    built = install_tiny_models()
    yield nets[0], nets[1], built
    face_edit.set_model_factory(None)


@pytest.fixture(scope="module")
def group(samples_dir):
    """Astronaut and Grace Hopper side by side: two real faces."""
    a = np.asarray(Image.open(samples_dir / "astronaut.png").convert("RGB"))
    g = np.asarray(Image.open(samples_dir / "grace_hopper.jpg").convert("RGB"))[:512]
    return np.ascontiguousarray(np.concatenate([a, g], axis=1))


CTX = TaskContext(device="cpu", precision="fp32")


def _outside_exact(img, result):
    out = result.image
    touched = np.zeros(img.shape[:2], bool)
    for la in result.layers:
        x, y, w, h = la.rect
        touched[y:y + h, x:x + w] |= la.mask > 0
    return np.array_equal(out[~touched], img[~touched]), touched


def test_parse_edits_and_request_roundtrip():
    assert parse_edits(["smile=1.5", "age=-2", "eyes-open=1"]) == (
        ("smile", 1.5), ("age", -2.0), ("eyes_open", 1.0))
    with pytest.raises(ValueError):
        parse_edits(["smile"])
    with pytest.raises(ValueError):
        parse_edits(["smile=lots"])
    r = FaceEditRequest(edits=[["smile", 1]], faces=[0], strip=[10, 30])
    d = r.to_dict()
    assert d["task"] == "face_edit"
    assert FaceEditRequest.from_dict(d) == r
    assert r.edit_dict == {"smile": 1.0}


def test_session_encodes_once_and_updates_only_run_the_generator(models, group):
    e4e, _sam, _ = models
    s = FaceEditSession()
    before = e4e.encode.calls
    info = drive(s.prepare(TaskInputs(image=group), FaceEditRequest(), CTX))
    assert len(s.faces) == 2 and e4e.encode.calls == before + 2
    assert len(info.info["faces"]) == 2
    for fs in s.faces:
        assert fs.w.shape == (10, 32) and fs.aligned.pixels.shape == (1024, 1024, 3)
        assert fs.aligned256.pixels.shape == (256, 256, 3)
        assert fs.latent_file and np.array_equal(np.load(fs.latent_file), fs.w)
    gen_calls = []
    orig = s.models.decode
    s.models.decode = lambda *a, **k: (gen_calls.append(1), orig(*a, **k))[1]
    r1 = drive(s.update(FaceEditRequest(edits=(("smile", 1.5),), preview=True), CTX))
    r2 = drive(s.update(FaceEditRequest(edits=(("smile", -1.0), ("age", 2.0))), CTX))
    assert e4e.encode.calls == before + 2            # the encoder never ran again
    assert len(gen_calls) == 4                        # 2 faces x 2 updates
    assert len(r1.layers) == 2 and len(r2.layers) == 2 and r1.image is None
    ok, touched = _outside_exact(group, r2)
    assert ok and touched.any()
    # the paste regions are the two faces (one per half of the picture)
    xs = sorted(la.rect[0] for la in r2.layers)
    assert xs[0] < 512 <= xs[1]
    la = r2.layers[0]
    assert la.image.shape[:2] == la.mask.shape and la.image.shape[2] == 4
    assert la.info["edits"] == {"smile": -1.0, "age": 2.0} and la.info["model"] == "face.e4e_ffhq"
    assert la.info["latent_file"] and la.info["face"]["quad"]
    # different slider values give different pixels
    assert not np.array_equal(r1.layers[0].image, r2.layers[0].image)
    s.close()


def test_one_face_only_and_bad_face_index(models, group):
    s = FaceEditSession()
    drive(s.prepare(TaskInputs(image=group), FaceEditRequest(), CTX))
    r = drive(s.update(FaceEditRequest(faces=(1,), edits=(("smile", 1.0),)), CTX))
    assert len(r.layers) == 1 and r.layers[0].rect[0] >= 400
    with pytest.raises(TaskError, match="face 3"):
        drive(s.update(FaceEditRequest(faces=(2,)), CTX))
    with pytest.raises(TaskError, match="unknown edit"):
        drive(s.update(FaceEditRequest(edits=(("wings", 1.0),)), CTX))


def test_no_face_is_a_clear_error_and_changes_nothing(models, samples_dir):
    cat = np.asarray(Image.open(samples_dir / "chelsea.png").convert("RGB"))
    keep = cat.copy()
    with pytest.raises(TaskError, match="No face"):
        drive(face_edit.run(TaskInputs(image=cat), FaceEditRequest(edits=(("smile", 1.0),)), CTX))
    assert np.array_equal(cat, keep)


def test_sam_age_and_strip_cache_the_age_codes(models, astronaut):
    _e4e, sam, _ = models
    s = FaceEditSession()
    drive(s.prepare(TaskInputs(image=astronaut), FaceEditRequest(), CTX))
    n0 = sam.encode_age.calls
    r = drive(s.update(FaceEditRequest(age=70), CTX))
    assert sam.encode_age.calls == n0 + 1 and r.layers[0].info["age"] == 70
    drive(s.update(FaceEditRequest(age=70, edits=(("smile", 1.0),)), CTX))
    assert sam.encode_age.calls == n0 + 1            # cached per (face, age)
    rs = drive(s.update(FaceEditRequest(strip=(10, 30, 70)), CTX))
    assert sam.encode_age.calls == n0 + 3             # 10 and 30 new, 70 cached
    assert [la.info["age"] for la in rs.layers] == [10, 30, 70]
    assert rs.image is None
    grid = strip_grid(rs, cell=32)
    assert grid.shape == (32, 96, 3)
    with pytest.raises(TaskError, match="between 0 and 100"):
        drive(s.update(FaceEditRequest(age=140), CTX))


def test_run_returns_flattened_image_16bit(models, astronaut):
    img16 = astronaut.astype(np.uint16) * 257
    r = drive(face_edit.run(TaskInputs(image=img16), FaceEditRequest(edits=(("gender", 1.0),)), CTX))
    assert r.image.dtype == np.uint16 and r.layers[0].image.dtype == np.uint16
    ok, _ = _outside_exact(img16, r)
    assert ok
    assert r.info["faces_found"][0]["landmarks"]["nose"]


def test_restore_from_provenance_skips_the_encoder(models, astronaut):
    e4e, _sam, _ = models
    r = drive(face_edit.run(TaskInputs(image=astronaut), FaceEditRequest(edits=(("smile", 1.0),)), CTX))
    prov = r.layers[0].info
    n = e4e.encode.calls
    s = FaceEditSession()
    drive(s.prepare(TaskInputs(image=astronaut), FaceEditRequest(restore=prov["face"]), CTX))
    assert e4e.encode.calls == n                      # latent file reused
    r2 = drive(s.update(FaceEditRequest(edits=(("smile", 1.0),)), CTX))
    assert r2.layers[0].rect == r.layers[0].rect
    assert np.array_equal(r2.layers[0].image, r.layers[0].image)


def test_preview_generator_stops_early(nets):
    e4e, _ = nets
    w = torch.randn(1, e4e.decoder.n_latent, 32)
    with torch.inference_mode():
        full = synthesize(e4e.decoder, w)
        small = synthesize(e4e.decoder, w, 16)
        ref = e4e.decoder(w, input_is_latent=True, randomize_noise=False)[0]
    assert full.shape[-1] == 64 and small.shape[-1] == 16
    assert torch.equal(full, ref)


def test_missing_models_say_what_is_needed(tmp_path, astronaut, monkeypatch):
    from ganstudio.models.store import ModelStore

    face_edit.set_model_factory(None)
    ctx = TaskContext(device="cpu", precision="fp32", store=ModelStore(tmp_path / "store"))
    with pytest.raises(TaskError, match="not installed"):
        drive(face_edit.run(TaskInputs(image=astronaut), FaceEditRequest(), ctx))


def test_prepare_without_models_detects_and_aligns_then_encodes_lazily(models, astronaut):
    e4e, _sam, _ = models
    n = e4e.encode.calls
    s = FaceEditSession()
    r = drive(s.prepare(TaskInputs(image=astronaut), FaceEditRequest(encode=False), CTX))
    assert e4e.encode.calls == n and s.models is None and r.info["encoded"] is False
    assert r.artefacts["thumbs"][0].shape == (256, 256, 3)
    assert s.faces[0].w is None and s.faces[0].aligned.pixels.shape == (1024, 1024, 3)
    drive(s.update(FaceEditRequest(edits=(("smile", 1.0),), preview=True), CTX))
    assert e4e.encode.calls == n + 1
    drive(s.update(FaceEditRequest(edits=(("smile", 2.0),), preview=True), CTX))
    assert e4e.encode.calls == n + 1


def test_prepare_without_models_needs_no_models(astronaut, tmp_path):
    from ganstudio.models.store import ModelStore

    face_edit.set_model_factory(None)
    ctx = TaskContext(device="cpu", precision="fp32", store=ModelStore(tmp_path / "store"))
    s = FaceEditSession()
    r = drive(s.prepare(TaskInputs(image=astronaut), FaceEditRequest(encode=False), ctx))
    assert len(r.info["faces"]) == 1
    with pytest.raises(TaskError, match="not installed"):
        drive(s.update(FaceEditRequest(edits=(("smile", 1.0),)), ctx))


def test_refine_tunes_a_copy_per_face(models, astronaut):
    e4e, _sam, _ = models
    before = {k: v.clone() for k, v in e4e.decoder.state_dict().items()}
    s = FaceEditSession()
    drive(s.prepare(TaskInputs(image=astronaut), FaceEditRequest(refine=3), CTX))
    fs = s.faces[0]
    assert fs.generator is not None and fs.generator is not e4e.decoder
    assert fs.refine_info["refine_steps"] >= 1
    for k, v in e4e.decoder.state_dict().items():      # the shared generator is untouched
        assert torch.equal(v, before[k])
    r = drive(s.update(FaceEditRequest(edits=(("smile", 1.0),)), CTX))
    assert r.layers[0].info["refine"]["refine_steps"] == fs.refine_info["refine_steps"]
