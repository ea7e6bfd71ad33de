"""CLI messages (issue #16): every argument documents itself, `--scale 0` says what is allowed,
and the batch progress bar counts whole files."""

from __future__ import annotations

import argparse
import io

import numpy as np
import pytest
from PIL import Image

from ganstudio.cli import build_parser, main


def _walk(parser: argparse.ArgumentParser, path: list[str]):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, path + [name])
            continue
        if isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
            continue
        yield path, action


def test_every_argument_of_every_command_has_a_help_text() -> None:
    seen, missing = 0, []
    for path, action in _walk(build_parser(), ["ganstudio"]):
        seen += 1
        text = action.help
        if not text or text == argparse.SUPPRESS or len(str(text).strip()) < 8:
            missing.append(f"{' '.join(path)} {'/'.join(action.option_strings) or action.dest}")
    assert seen > 100            # the whole tree was walked (every command module registered)
    assert missing == [], "arguments without help:\n" + "\n".join(missing)


@pytest.mark.parametrize("argv, words", [
    (["upscale", "--help"], ["-o OUT", "output folder", "IN", "files or folders"]),
    (["inpaint", "--help"], ["--strategy", "MASK|MASKS_DIR", "white = remove"]),
    (["models", "download", "--help"], ["ID", "model ids to install"]),
])
def test_help_pages_show_the_texts(capsys, argv, words) -> None:  # noqa: ANN001
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    for w in words:
        assert w in out, (w, out)


@pytest.mark.parametrize("scale", ["0", "-2", "17"])
def test_scale_out_of_range_names_what_is_allowed(capsys, tmp_path, scale) -> None:  # noqa: ANN001
    src = tmp_path / "a.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(src)
    code = main(["upscale", str(src), "-o", str(tmp_path / "out"), "--scale", scale])
    err = capsys.readouterr().err
    assert code == 2
    assert "--scale must be more than 0 and at most 16" in err
    assert "2, 3 or 4" in err
    assert "between 0 and 16" not in err     # the old message, which 0 seemed to satisfy
    assert not (tmp_path / "out").exists()


def test_progress_bar_counts_whole_files() -> None:
    from ganstudio.commands._progress import FileProgress

    buf = io.StringIO()
    bar = FileProgress(3, file=buf)
    for i, name in enumerate(["a.png", "b.png", "c.png"]):
        bar.start(name)
        for f in (0.2, 0.5, 0.8):
            bar.step(f, f"tile {int(f * 5)}/5")
            assert bar.n == i            # the count is whole files, never 0.2
        bar.done()
    bar.close()
    text = buf.getvalue().replace("\r", "\n")
    assert "0/3 files" in text and "1/3 files" in text and "3/3 files" in text
    assert "20% tile 1/5" in text and "b.png" in text
    assert "0.2/" not in text and "1.2/" not in text and "/1 file" not in text


def test_upscale_batch_prints_whole_file_counts(capsys, tmp_path) -> None:  # noqa: ANN001
    from ganstudio.models.testing import save_safetensors, srvgg_state_dict

    model = tmp_path / "identity_x4.safetensors"
    save_safetensors(srvgg_state_dict(identity=True, upscale=4), model)
    src = tmp_path / "in"
    src.mkdir()
    for n in "ab":
        Image.fromarray(np.full((6, 6, 3), 90, np.uint8)).save(src / f"{n}.png")
    code = main(["upscale", str(src), "-o", str(tmp_path / "out"), "--model", str(model),
                 "--scale", "2", "--threads", "1"])
    err = capsys.readouterr().err.replace("\r", "\n")
    assert code == 0, err
    assert "2/2 files" in err
    assert not any(f"{x}/2 file" in err for x in ("0.2", "0.5", "1.5"))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b.png"]
