"""Flat image formats: round-trips, metadata, orientation, odd modes, bad input, odd paths."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pytest
from iohelpers import cmyk_icc_profile, exif_dict, make_exif, png_bomb
from PIL import Image, ImageOps

from ganstudio.core.document import Document
from ganstudio.core.io import (
    CorruptFileError,
    ImageFileError,
    ImageTooLargeError,
    UnsupportedFormatError,
    export_image,
    open_document,
    open_image,
    read_image_array,
)
from ganstudio.core.io.image_io import exif_orientation, read_image
from ganstudio.core.layers import RasterLayer


# -- round-trips ---------------------------------------------------------------------------------
@pytest.mark.parametrize("ext", ["png", "tif", "webp"])
def test_lossless_rgba8_roundtrip_exact(tmp_path: Path, rgba8: np.ndarray, ext: str) -> None:
    out = tmp_path / f"x.{ext}"
    assert export_image(rgba8, out, lossless=True) == []
    doc = open_image(out)
    layer = doc.layers[0]
    assert layer.pixels.dtype == np.uint8
    np.testing.assert_array_equal(layer.pixels, rgba8)
    assert doc.metadata["has_alpha"] is True


@pytest.mark.parametrize("ext", ["png", "tif", "bmp"])
def test_lossless_rgb8_roundtrip_exact(tmp_path: Path, astronaut: np.ndarray, ext: str) -> None:
    out = tmp_path / f"astronaut.{ext}"
    export_image(astronaut, out)
    pixels, icc, exif = read_image_array(out)
    assert pixels.shape == astronaut.shape  # no alpha channel -> RGB
    np.testing.assert_array_equal(pixels, astronaut)


@pytest.mark.parametrize("ext", ["png", "tiff"])
@pytest.mark.parametrize("channels", [3, 4])
def test_16bit_roundtrip_exact(tmp_path: Path, rgba16: np.ndarray, ext: str, channels: int) -> None:
    src = rgba16[:, :, :channels]
    out = tmp_path / f"deep.{ext}"
    export_image(src, out)
    doc = open_image(out)
    px = doc.layers[0].pixels
    assert px.dtype == np.uint16 and doc.metadata["bit_depth"] == 16
    np.testing.assert_array_equal(px[:, :, :channels], src)
    if channels == 3:
        assert (px[:, :, 3] == 65535).all()


@pytest.mark.parametrize("ext,tol", [("jpg", 4.0), ("webp", 4.0)])
def test_lossy_roundtrip_within_tolerance(tmp_path: Path, astronaut: np.ndarray, ext: str,
                                          tol: float) -> None:
    out = tmp_path / f"a.{ext}"
    export_image(astronaut, out, quality=92)
    pixels, _, _ = read_image_array(out)
    diff = np.abs(pixels.astype(int) - astronaut.astype(int))
    assert pixels.shape == astronaut.shape
    assert diff.mean() < tol
    assert np.percentile(diff, 99) < 40


def test_jpeg_quality_and_options(tmp_path: Path, astronaut: np.ndarray) -> None:
    lo, hi, prog = tmp_path / "lo.jpg", tmp_path / "hi.jpg", tmp_path / "prog.jpg"
    export_image(astronaut, lo, quality=30)
    export_image(astronaut, hi, quality=95, subsampling="4:4:4")
    export_image(astronaut, prog, progressive=True)
    assert lo.stat().st_size < hi.stat().st_size
    with Image.open(prog) as im:
        assert im.info.get("progressive") or im.info.get("progression")
    with Image.open(hi) as im:
        from PIL import JpegImagePlugin
        assert JpegImagePlugin.get_sampling(im) == 0  # 4:4:4


def test_jpeg_flattens_alpha_on_white(tmp_path: Path) -> None:
    a = np.zeros((16, 16, 4), np.uint8)
    a[:8] = (255, 0, 0, 255)  # top: opaque red; bottom: fully transparent
    notes = export_image(a, tmp_path / "f.jpg")
    assert any("flattened" in n for n in notes)
    px, _, _ = read_image_array(tmp_path / "f.jpg")
    assert px.shape[2] == 3
    assert (px[12:, :, :] > 245).all()
    assert px[2, 2, 0] > 230 and px[2, 2, 1] < 30


def test_bmp_flattens_alpha_with_note(tmp_path: Path) -> None:
    a = np.zeros((4, 4, 4), np.uint8)
    a[:2] = (0, 255, 0, 255)
    notes = export_image(a, tmp_path / "f.bmp")
    assert any("flattened" in n for n in notes)
    px, _, _ = read_image_array(tmp_path / "f.bmp")
    assert tuple(px[0, 0]) == (0, 255, 0) and tuple(px[3, 3]) == (255, 255, 255)


def test_16bit_to_8bit_format_reduces_with_note(tmp_path: Path, rgba16: np.ndarray) -> None:
    notes = export_image(rgba16[:, :, :3], tmp_path / "r.webp", lossless=True)
    assert any("16-bit" in n for n in notes)
    px, _, _ = read_image_array(tmp_path / "r.webp")
    expect = np.rint(rgba16[:, :, :3] / 257.0)
    assert np.abs(px.astype(int) - expect).max() <= 1


def test_tiff_compressions(tmp_path: Path, rgba8: np.ndarray) -> None:
    for comp in ("deflate", "lzw", "packbits", "none"):
        out = tmp_path / f"c-{comp}.tif"
        export_image(rgba8, out, compression=comp)
        np.testing.assert_array_equal(open_image(out).layers[0].pixels, rgba8)
    with pytest.raises(ValueError, match="unknown TIFF compression"):
        export_image(rgba8, tmp_path / "bad.tif", compression="zstd-ultra")


# -- metadata ------------------------------------------------------------------------------------
@pytest.mark.parametrize("ext,deep", [("png", False), ("jpg", False), ("webp", False),
                                      ("tif", False), ("png", True), ("tif", True)])
def test_icc_and_exif_survive_open_export(tmp_path: Path, srgb_icc: bytes, ext: str, deep: bool,
                                          rgba8: np.ndarray, rgba16: np.ndarray) -> None:
    src = (rgba16 if deep else rgba8)[:, :, :3]
    exif = make_exif()
    first = tmp_path / f"first.{ext}"
    export_image(src, first, icc=srgb_icc, exif=exif)
    doc = open_image(first)
    assert doc.icc_profile == srgb_icc
    tags, sub = exif_dict(doc.exif)
    assert tags[0x010F] == "GANStudioCam" and sub[0x9003] == "2024:05:06 07:08:09"
    second = tmp_path / f"second.{ext}"
    export_image(doc, second)             # the document's ICC / EXIF are written back
    again = open_image(second)
    assert again.icc_profile == srgb_icc
    tags2, sub2 = exif_dict(again.exif)
    assert tags2[0x010F] == "GANStudioCam" and tags2[0x0110] == "Model 1"
    assert sub2[0x9003] == "2024:05:06 07:08:09"
    if deep:
        assert again.layers[0].pixels.dtype == np.uint16


def test_explicit_none_drops_metadata(tmp_path: Path, srgb_icc: bytes, rgba8: np.ndarray) -> None:
    export_image(rgba8, tmp_path / "m.png", icc=srgb_icc, exif=make_exif())
    doc = open_image(tmp_path / "m.png")
    export_image(doc, tmp_path / "plain.png", icc=None, exif=None)
    plain = open_image(tmp_path / "plain.png")
    assert plain.icc_profile is None and plain.exif is None


def _asymmetric(h: int = 6, w: int = 10) -> np.ndarray:
    a = np.zeros((h, w, 3), np.uint8)
    a[..., 0] = np.arange(w)[None, :] * 20
    a[..., 1] = np.arange(h)[:, None] * 40
    a[0, 0] = (255, 255, 255)
    return a


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_applied_and_reset(tmp_path: Path, orientation: int) -> None:
    base = _asymmetric()
    path = tmp_path / f"o{orientation}.png"  # lossless so pixels compare exactly
    Image.fromarray(base).save(path, exif=make_exif(orientation))
    expect = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))
    doc = open_image(path)
    px = doc.layers[0].pixels
    assert (doc.width, doc.height) == (expect.shape[1], expect.shape[0])
    np.testing.assert_array_equal(px[:, :, :3], expect)
    assert exif_orientation(doc.exif) == 1
    assert exif_dict(doc.exif)[0][0x010F] == "GANStudioCam"  # the rest of the EXIF is intact
    if orientation != 1:
        assert any("orientation" in n for n in doc.metadata["import_notes"])


def test_exif_orientation_jpeg_and_16bit(tmp_path: Path, rgba16: np.ndarray) -> None:
    jpg = tmp_path / "rot.jpg"
    Image.fromarray(_asymmetric(16, 32)).save(jpg, quality=95, exif=make_exif(6))
    doc = open_image(jpg)
    assert (doc.width, doc.height) == (16, 32)
    assert exif_orientation(doc.exif) == 1
    deep = tmp_path / "rot16.png"
    export_image(rgba16, deep, exif=make_exif(8))
    px = open_image(deep).layers[0].pixels
    np.testing.assert_array_equal(px, np.rot90(rgba16, 1))
    tif = tmp_path / "rot16.tif"
    export_image(rgba16, tif, exif=make_exif(3))
    np.testing.assert_array_equal(open_image(tif).layers[0].pixels, rgba16[::-1, ::-1])


def test_exported_exif_has_orientation_1(tmp_path: Path) -> None:
    src = tmp_path / "o6.jpg"
    Image.fromarray(_asymmetric()).save(src, exif=make_exif(6))
    export_image(open_image(src), tmp_path / "out.jpg")
    with Image.open(tmp_path / "out.jpg") as im:
        assert im.getexif()[0x0112] == 1
        assert im.size == (6, 10)


def test_dpi_kept(tmp_path: Path, rgba8: np.ndarray) -> None:
    Image.fromarray(rgba8).save(tmp_path / "d.png", dpi=(300, 300))
    doc = open_image(tmp_path / "d.png")
    assert doc.metadata["dpi"] == pytest.approx((300, 300), abs=0.1)
    export_image(doc, tmp_path / "d2.png")
    assert open_image(tmp_path / "d2.png").metadata["dpi"] == pytest.approx((300, 300), abs=0.1)


# -- modes ---------------------------------------------------------------------------------------
def test_cmyk_converted_to_rgb(tmp_path: Path, srgb_icc: bytes) -> None:
    im = Image.new("CMYK", (8, 4), (0, 255, 255, 0))  # pure red in CMYK
    im.save(tmp_path / "cmyk.jpg", quality=100)
    im.save(tmp_path / "cmyk.tif")
    for name in ("cmyk.jpg", "cmyk.tif"):
        doc = open_image(tmp_path / name)
        px = doc.layers[0].pixels
        assert px.shape == (4, 8, 4) and px.dtype == np.uint8
        assert px[0, 0, 0] > 230 and px[0, 0, 1] < 25 and px[0, 0, 2] < 25
        assert any("CMYK" in n for n in doc.metadata["import_notes"])
    # with its ICC profile: converted through it (this profile swaps red and blue), sRGB kept
    im.save(tmp_path / "cmyk-icc.jpg", quality=100, icc_profile=cmyk_icc_profile())
    im.save(tmp_path / "cmyk-icc.tif", icc_profile=cmyk_icc_profile())
    for name in ("cmyk-icc.jpg", "cmyk-icc.tif"):
        doc = open_image(tmp_path / name)
        r, g, b, a = (int(v) for v in doc.layers[0].pixels[0, 0])
        assert b > 220 and r < 40 and g < 40 and a == 255, (r, g, b)
        assert any("ICC" in n for n in doc.metadata["import_notes"])
        assert b"sRGB" in doc.icc_profile or b"RGB " in doc.icc_profile[:24]
    # an ICC profile that does not fit CMYK: falls back to the plain conversion with a note
    im.save(tmp_path / "cmyk-badicc.jpg", icc_profile=srgb_icc)
    doc = open_image(tmp_path / "cmyk-badicc.jpg")
    assert doc.layers[0].pixels[0, 0, 0] > 230
    assert doc.icc_profile is None


def test_palette_with_transparency(tmp_path: Path) -> None:
    im = Image.new("P", (6, 3), 1)
    im.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    im.putpixel((0, 0), 0)
    im.save(tmp_path / "p.png", transparency=0)
    doc = open_image(tmp_path / "p.png")
    px = doc.layers[0].pixels
    assert px[0, 0, 3] == 0 and tuple(px[1, 1]) == (10, 200, 30, 255)
    assert doc.metadata["has_alpha"] is True
    im.convert("RGB").quantize(4).save(tmp_path / "p.gif.png")
    assert open_image(tmp_path / "p.gif.png").metadata["has_alpha"] is False


def test_grey_modes(tmp_path: Path) -> None:
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    Image.fromarray(grey, "L").save(tmp_path / "l.png")
    px = open_image(tmp_path / "l.png").layers[0].pixels
    np.testing.assert_array_equal(px[:, :, 0], grey)
    np.testing.assert_array_equal(px[:, :, 2], grey)
    assert (px[:, :, 3] == 255).all()

    la = Image.merge("LA", [Image.fromarray(grey), Image.fromarray(255 - grey)])
    la.save(tmp_path / "la.png")
    px = open_image(tmp_path / "la.png").layers[0].pixels
    np.testing.assert_array_equal(px[:, :, 1], grey)
    np.testing.assert_array_equal(px[:, :, 3], 255 - grey)

    g16 = (np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000 + 7)
    Image.fromarray(g16).save(tmp_path / "i16.png")
    doc = open_image(tmp_path / "i16.png")
    assert doc.layers[0].pixels.dtype == np.uint16
    np.testing.assert_array_equal(doc.layers[0].pixels[:, :, 0], g16)

    bits = Image.new("1", (9, 5), 0)
    bits.putpixel((3, 2), 1)
    bits.save(tmp_path / "one.png")
    bits.save(tmp_path / "one.tif")
    bits.save(tmp_path / "one.bmp")
    for name in ("one.png", "one.tif", "one.bmp"):
        px = open_image(tmp_path / name).layers[0].pixels
        assert px.dtype == np.uint8 and tuple(px[2, 3]) == (255, 255, 255, 255)
        assert tuple(px[0, 0]) == (0, 0, 0, 255)


def test_float_tiff_becomes_16bit(tmp_path: Path, srgb_icc: bytes) -> None:
    import tifffile

    hdr = np.linspace(0, 1, 4 * 6 * 3, dtype=np.float32).reshape(4, 6, 3)
    tifffile.imwrite(tmp_path / "hdr.tif", hdr, photometric="rgb", iccprofile=srgb_icc)
    doc = open_image(tmp_path / "hdr.tif")
    px = doc.layers[0].pixels
    assert px.dtype == np.uint16 and px.shape == (4, 6, 4)
    np.testing.assert_allclose(px[:, :, :3] / 65535.0, hdr, atol=1e-4)
    assert doc.icc_profile == srgb_icc


def test_wrong_extension_detected_by_content(tmp_path: Path, rgba8: np.ndarray) -> None:
    export_image(rgba8, tmp_path / "real.png")
    fake = tmp_path / "actually-png.jpg"
    fake.write_bytes((tmp_path / "real.png").read_bytes())
    doc = open_image(fake)
    assert doc.source_format == "PNG"
    np.testing.assert_array_equal(doc.layers[0].pixels, rgba8)
    noext = tmp_path / "noextension"
    noext.write_bytes(fake.read_bytes())
    assert open_document(noext).source_format == "PNG"


def test_open_image_document_state(tmp_path: Path, rgba8: np.ndarray) -> None:
    export_image(rgba8, tmp_path / "holiday.png")
    doc = open_image(tmp_path / "holiday.png")
    assert doc.layers[0].name == "holiday" and doc.name == "holiday.png"
    assert doc.path == tmp_path / "holiday.png"
    assert not doc.modified and not doc.history.can_undo()
    assert doc.active_layer is doc.layers[0]
    for name in ("holiday.png", "rgb.jpg", "rgb.png", "grey.png"):
        if name != "holiday.png":
            export_image(rgba8[:, :, 0] if name == "grey.png" else rgba8[:, :, :3], tmp_path / name)
        assert open_image(tmp_path / name).layers[0].pixels.flags.writeable  # the UI paints on it


def test_export_document_composite_and_active_layer(tmp_path: Path) -> None:
    doc = Document(8, 6)
    doc.add_layer(RasterLayer.blank("bg", 8, 6, fill=(0, 0, 255, 255)))
    top = RasterLayer.blank("top", 4, 6, fill=(255, 0, 0, 255))
    doc.add_layer(top)
    export_image(doc, tmp_path / "flat.png")
    flat, _, _ = read_image_array(tmp_path / "flat.png")
    assert tuple(flat[0, 0]) == (255, 0, 0) and tuple(flat[0, 7]) == (0, 0, 255)
    export_image(doc, tmp_path / "layer.png", flatten=False)
    only, _, _ = read_image_array(tmp_path / "layer.png")
    assert only.shape == (6, 4, 3) and tuple(only[0, 0]) == (255, 0, 0)


def test_export_16bit_document_stays_16bit(tmp_path: Path, rgba16: np.ndarray) -> None:
    doc = Document(rgba16.shape[1], rgba16.shape[0])
    opaque = rgba16.copy()
    opaque[..., 3] = 65535
    doc.add_layer(RasterLayer("deep", opaque))
    export_image(doc, tmp_path / "deep.png")
    px, _, _ = read_image_array(tmp_path / "deep.png")
    assert px.dtype == np.uint16
    np.testing.assert_array_equal(px, opaque[:, :, :3])


# -- odd paths -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["with space/my photo.png", "été ☀ 写真/ünïcødé ★.tif",
                                  "пример/16 бит.png"])
def test_paths_with_spaces_and_non_ascii(tmp_path: Path, rgba8: np.ndarray, rgba16: np.ndarray,
                                         name: str) -> None:
    path = tmp_path / name
    path.parent.mkdir(parents=True)
    src = rgba16 if "16" in name else rgba8
    export_image(src, path)
    doc = open_image(path)
    np.testing.assert_array_equal(doc.layers[0].pixels, src)
    assert doc.path == path


# -- bad input -----------------------------------------------------------------------------------
def test_zero_byte_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(CorruptFileError, match=r"empty\.png.*empty \(0 bytes\)"):
        open_image(empty)


@pytest.mark.parametrize("ext", ["png", "jpg", "webp", "tif"])
def test_truncated_files(tmp_path: Path, astronaut: np.ndarray, ext: str) -> None:
    full = tmp_path / f"full.{ext}"
    export_image(astronaut, full)
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 3])
    with pytest.raises(CorruptFileError, match=rf"cut\.{ext}.*(damaged|truncated)") as info:
        open_image(cut)
    assert info.value.path == cut


def test_truncated_16bit_png(tmp_path: Path, rgba16: np.ndarray) -> None:
    full = tmp_path / "deep.png"
    export_image(rgba16, full)
    cut = tmp_path / "deepcut.png"
    cut.write_bytes(full.read_bytes()[:200])
    with pytest.raises(CorruptFileError, match="deepcut.png"):
        open_image(cut)


def test_corrupt_and_unsupported(tmp_path: Path, rng: np.random.Generator) -> None:
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(b"\x89PNG\r\n\x1a\n" + rng.integers(0, 256, 500, dtype=np.uint8).tobytes())
    with pytest.raises(CorruptFileError, match="garbage.png"):
        open_image(garbage)
    text = tmp_path / "notes.jpg"
    text.write_text("this is not an image")
    with pytest.raises(UnsupportedFormatError, match=r"notes\.jpg.*not in a format"):
        open_image(text)
    with pytest.raises(ImageFileError, match="does not exist"):
        open_image(tmp_path / "missing.png")
    with pytest.raises(ImageFileError, match="is a folder"):
        open_image(tmp_path)


def test_decompression_bomb_refused_and_override(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_bomb(100_000, 100_000))
    assert bomb.stat().st_size < 200
    with pytest.raises(ImageTooLargeError, match=r"bomb\.png.*10000\.0 megapixels.*allow_huge=True") as info:
        open_image(bomb)
    assert info.value.pixels == 10_000_000_000 and info.value.override == "allow_huge=True"
    # the override passes the guard; this file then fails honestly because it has no pixel data
    with pytest.raises(CorruptFileError):
        open_image(bomb, allow_huge=True)


def test_pixel_limit_override_opens_real_image(tmp_path: Path, astronaut: np.ndarray) -> None:
    path = tmp_path / "a.png"
    export_image(astronaut, path)
    with pytest.raises(ImageTooLargeError, match="allow_huge=True"):
        open_image(path, max_pixels=100_000)
    doc = open_image(path, max_pixels=100_000, allow_huge=True)
    assert doc.size == (512, 512)


def test_huge_dimensions_in_jpeg_and_tiff_headers(tmp_path: Path) -> None:
    jpg = io.BytesIO()
    Image.new("RGB", (8, 8)).save(jpg, "JPEG")
    data = bytearray(jpg.getvalue())
    sof = data.find(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", 60000, 60000)  # height, width
    (tmp_path / "huge.jpg").write_bytes(bytes(data))
    with pytest.raises(ImageTooLargeError, match=r"huge\.jpg.*60000x60000"):
        open_image(tmp_path / "huge.jpg")
    tif = io.BytesIO()
    Image.new("L", (8, 8)).save(tif, "TIFF")
    raw = tif.getvalue()
    img = Image.open(io.BytesIO(raw))
    assert img.size == (8, 8)
    patched = bytearray(raw)
    # patch ImageWidth / ImageLength (tags 256 / 257) entries in IFD0
    ifd = struct.unpack("<I", patched[4:8])[0]
    for i in range(struct.unpack("<H", patched[ifd:ifd + 2])[0]):
        entry = ifd + 2 + 12 * i
        tag, typ = struct.unpack("<HH", patched[entry:entry + 4])
        if tag in (256, 257):
            fmt = "<H" if typ == 3 else "<I"
            patched[entry + 8:entry + 8 + struct.calcsize(fmt)] = struct.pack(fmt, 50000)
    (tmp_path / "huge.tif").write_bytes(bytes(patched))
    with pytest.raises(ImageTooLargeError, match="50000x50000"):
        open_image(tmp_path / "huge.tif")


def test_export_unknown_format(tmp_path: Path, rgba8: np.ndarray) -> None:
    with pytest.raises(UnsupportedFormatError, match=r"x\.xyz.*unknown image format"):
        export_image(rgba8, tmp_path / "x.xyz")
    export_image(rgba8, tmp_path / "noext", format="png")
    assert read_image(tmp_path / "noext").format == "PNG"


def test_ora_is_not_a_flat_image(tmp_path: Path, rgba8: np.ndarray) -> None:
    from ganstudio.core.io import save_ora

    doc = Document(4, 4)
    doc.add_layer(RasterLayer.blank("a", 4, 4))
    save_ora(doc, tmp_path / "p.ora")
    with pytest.raises(UnsupportedFormatError, match="OpenRaster project"):
        open_image(tmp_path / "p.ora")
    assert open_document(tmp_path / "p.ora").source_format == "ORA"
