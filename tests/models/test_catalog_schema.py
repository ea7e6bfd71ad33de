"""Catalog schema growth: components, member, gdrive, hash_verified, licence_url, converter, new tasks."""

from __future__ import annotations

import pytest

from ganstudio.models.catalog import TASKS, CatalogError, default_catalog, parse_catalog_text

BUNDLE = """
[[model]]
id = "e4e.ffhq-bundle"
task = "face_edit"
arch = "e4e"
name = "e4e bundle"
licence = "MIT"
licence_url = "https://github.com/omertov/encoder4editing/blob/main/LICENSE"
origin = "https://github.com/omertov/encoder4editing"
files = [
  { name = "e4e_ffhq_encode.pt", gdrive = "1cUv_reLE6k3604or78EranS7XzuVMWeO" },
  { name = "age.pt", url = "https://example.org/age.pt", hash_verified = false },
]
components = { encoder = { file = "e4e_ffhq_encode.pt", arch = "e4e", state_dict_key = "state_dict", prefix = "encoder." }, directions_age = "age.pt" }
"""


def test_bundle_entry_parses():
    (e,) = parse_catalog_text(BUNDLE, "f.toml")
    assert e.files[0].gdrive == "1cUv_reLE6k3604or78EranS7XzuVMWeO" and e.files[0].url == ""
    assert not e.hash_verified and not e.files[1].hash_verified
    enc = e.component("encoder")
    assert (enc.file, enc.arch, enc.state_dict_key, enc.prefix) == ("e4e_ffhq_encode.pt", "e4e", "state_dict", "encoder.")
    assert e.component("directions_age").arch == ""
    assert e.licence_url.endswith("LICENSE")
    d = e.to_dict()
    assert d["components"]["encoder"]["prefix"] == "encoder." and d["hash_verified"] is False
    with pytest.raises(KeyError, match="no component 'decoder'"):
        e.component("decoder")


def test_new_tasks_are_known():
    assert {"colorize", "translate", "age", "face_analysis"} <= TASKS
    for t in ("colorize", "translate", "age", "face_analysis"):
        (e,) = parse_catalog_text(BUNDLE.replace('task = "face_edit"', f'task = "{t}"'))
        assert e.task == t


@pytest.mark.parametrize("edit, message", [
    (lambda s: s.replace('directions_age = "age.pt"', 'directions_age = "nope.pt"'), "not one of the entry's files"),
    (lambda s: s.replace('prefix = "encoder."', 'prefix = "encoder.", colour = 1'), "unknown key"),
    (lambda s: s.replace("directions_age =", "Directions =", 1), "lower case identifiers"),
    (lambda s: s.replace('gdrive = "1cUv_reLE6k3604or78EranS7XzuVMWeO"', 'gdrive = "not a drive/id"'), "Google Drive file id"),
    (lambda s: s.replace("hash_verified = false", "hash_verified = true"), "needs the real file's sha256"),
    (lambda s: s.replace("hash_verified = false", 'hash_verified = false, sha256 = "' + "a" * 64 + '"'),
     "only written when computed"),
    (lambda s: s.replace('licence_url = "https', 'licence_url = "ftp'), "licence_url must be http"),
    (lambda s: s.replace('prefix = "encoder."', 'prefix = "encoder.", converter = "nope"'), "unknown converter"),
    (lambda s: s.replace('{ name = "e4e_ffhq_encode.pt", gdrive', '{ name = "age.pt", gdrive'), "same name"),
    (lambda s: s.replace(', gdrive = "1cUv_reLE6k3604or78EranS7XzuVMWeO"', ""), "needs 'url'"),
])
def test_bad_schema_is_rejected_clearly(edit, message):
    with pytest.raises(CatalogError, match=message) as ei:
        parse_catalog_text(edit(BUNDLE), "f.toml")
    assert "f.toml" in str(ei.value)


def test_member_installs_under_its_base_name():
    text = BUNDLE.replace('{ name = "e4e_ffhq_encode.pt", gdrive = "1cUv_reLE6k3604or78EranS7XzuVMWeO" }',
                          '{ name = "checkpoints.tar.gz", gdrive = "12gvlTbMvUcJewQlSEaZdeb2CdOB-b8kQ", '
                          'member = "ade20k_pretrained/latest_net_G.pth" }').replace(
        'file = "e4e_ffhq_encode.pt"', 'file = "latest_net_G.pth"')
    (e,) = parse_catalog_text(text)
    assert e.files[0].installed_name == "latest_net_G.pth"
    assert e.file_named("latest_net_G.pth") is e.files[0]


def test_shipped_catalog_still_parses_with_the_new_schema():
    cat = default_catalog()
    assert cat.get("builtin.inpaint-compact").arch == "gsinpaint"
    assert all(e.files == () or isinstance(e.hash_verified, bool) for e in cat)
