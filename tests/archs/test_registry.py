"""The architecture registry: discovery, strict loading, detect / convert hooks."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from ganstudio.archs import registry  # noqa: E402
from ganstudio.archs.registry import (  # noqa: E402
    ArchLoadError, UnknownArchError, build_model, get_arch, list_archs, register_arch,
)


class _Tiny(torch.nn.Module):
    def __init__(self, ch: int = 2, bn: bool = False) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(ch, ch, 1)
        self.bn = torch.nn.BatchNorm2d(ch) if bn else None


@pytest.fixture
def tiny_arch():
    names = []

    def add(name, **kw):
        register_arch(name, **kw)(_Tiny)
        names.append(name)
        return name

    yield add
    for n in names:
        registry._REGISTRY.pop(n, None)


def test_discovery_finds_every_arch_file_without_a_list():
    import pkgutil

    import ganstudio.archs as pkg

    names = list_archs()
    assert {"gsinpaint", "inpaint_patchgan"} <= set(names)
    arch_modules = {f"ganstudio.archs.{m.name}" for m in pkgutil.iter_modules(pkg.__path__)
                    if m.name.endswith("_arch")}
    ok = arch_modules - set(registry.discovery_errors())
    # every importable *_arch.py module registered at least one architecture
    assert ok <= {spec.module for spec in registry._REGISTRY.values()}


def test_unknown_arch_names_the_registered_ones():
    with pytest.raises(UnknownArchError, match="registered: .*gsinpaint"):
        get_arch("no_such_arch")
    with pytest.raises(KeyError):  # UnknownArchError is a KeyError
        get_arch("no_such_arch")


def test_build_gsinpaint_from_catalog_kwargs_and_detect():
    from ganstudio.archs.gsinpaint_arch import GSInpaint

    net = build_model("gsinpaint", base=4, n_blocks=2)
    assert isinstance(net, GSInpaint) and net.config["base"] == 4
    sd = net.state_dict()
    # no kwargs: detect() reads base / n_blocks from the tensors; load is strict
    again = build_model("gsinpaint", sd)
    assert again.config == net.config
    for k, v in again.state_dict().items():
        assert torch.equal(v, sd[k])


def test_strict_loading_names_missing_unexpected_and_reshaped_keys(tiny_arch):
    name = tiny_arch("test_tiny_strict")
    good = _Tiny(2).state_dict()
    build_model(name, good, ch=2)  # exact fit loads
    bad = dict(good)
    del bad["conv.bias"]
    bad["extra.weight"] = torch.zeros(1)
    bad["conv.weight"] = torch.zeros(3, 2, 1, 1)
    with pytest.raises(ArchLoadError) as ei:
        build_model(name, bad, ch=2)
    err = ei.value
    assert err.missing == ["conv.bias"]
    assert err.unexpected == ["extra.weight"]
    assert err.reshaped == {"conv.weight": ((3, 2, 1, 1), (2, 2, 1, 1))}
    msg = str(err)
    assert "conv.bias" in msg and "extra.weight" in msg and "(3, 2, 1, 1)" in msg and name in msg


def test_batchnorm_num_batches_tracked_may_be_absent(tiny_arch):
    name = tiny_arch("test_tiny_bn")
    sd = _Tiny(2, bn=True).state_dict()
    sd.pop("bn.num_batches_tracked")  # old checkpoints lack it; torch fills it in
    net = build_model(name, sd, ch=2, bn=True)
    assert int(net.bn.num_batches_tracked) == 0


def test_convert_hook_maps_official_names(tiny_arch):
    def convert(sd, kw):
        return {k.replace("module.", "", 1): v for k, v in sd.items()}

    name = tiny_arch("test_tiny_convert", convert=convert)
    sd = {f"module.{k}": v for k, v in _Tiny(2).state_dict().items()}
    net = build_model(name, sd, ch=2)
    assert torch.equal(net.conv.weight, sd["module.conv.weight"])


def test_detect_fills_in_under_explicit_kwargs(tiny_arch):
    name = tiny_arch("test_tiny_detect", detect=lambda sd: {"ch": int(sd["conv.weight"].shape[0])})
    sd = _Tiny(3).state_dict()
    assert build_model(name, sd).conv.in_channels == 3
    with pytest.raises(ArchLoadError, match="reshaped"):
        build_model(name, sd, ch=2)  # the catalog's kwargs win, and the weights do not fit them


def test_bad_kwargs_are_an_arch_load_error(tiny_arch):
    name = tiny_arch("test_tiny_kwargs")
    with pytest.raises(ArchLoadError, match="cannot build"):
        build_model(name, nope=1)


def test_a_name_belongs_to_one_module(tiny_arch):
    tiny_arch("test_tiny_dup")

    def other(**kw):
        return _Tiny()

    other.__module__ = "somewhere.else"
    with pytest.raises(ValueError, match="already registered"):
        register_arch("test_tiny_dup")(other)


def test_a_broken_arch_module_does_not_hide_the_others(tmp_path, monkeypatch):
    import ganstudio.archs as pkg

    (tmp_path / "zz_broken_arch.py").write_text("raise RuntimeError('half-written file')\n")
    monkeypatch.setattr(pkg, "__path__", [*pkg.__path__, str(tmp_path)])
    try:
        errors = registry.discover(force=True)
        assert "half-written file" in errors["ganstudio.archs.zz_broken_arch"]
        assert "gsinpaint" in list_archs()
        with pytest.raises(UnknownArchError, match="zz_broken_arch"):
            get_arch("still_missing")
    finally:
        monkeypatch.undo()
        registry._ERRORS.pop("ganstudio.archs.zz_broken_arch", None)


def test_detect_arch_finds_the_architecture_of_bare_tensors():
    from ganstudio.archs.gsinpaint_arch import GSInpaint
    from ganstudio.archs.registry import detect_arch

    sd = GSInpaint(base=4, n_blocks=2).state_dict()
    name, kw = detect_arch(sd)
    assert name == "gsinpaint" and kw == {"base": 4, "n_blocks": 2}
    assert detect_arch({"nothing.weight": torch.zeros(1)}) is None
