"""`mspgsen report`: one self-contained page per run or study, with every section, the protocol and
the published anchors, averages over seeds, and a marked section (not a crash) for a damaged file."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from mspgsen import api
from mspgsen.cli import main
from mspgsen.report.page import RUN_SECTIONS

from conftest import tiny_config

PREVIEWS = ["train.sample_every=4"]


class Page(HTMLParser):
    """The sections of a page (by class), the images in each, every table cell, and any external link."""

    def __init__(self, text: str):
        super().__init__()
        self.sections: list[dict] = []
        self.stack: list[dict] = []
        self.cells: list[str] = []
        self.external: list[str] = []
        self._in_cell = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            section = {"class": attrs.get("class", ""), "images": 0, "text": ""}
            self.sections.append(section)
            self.stack.append(section)
        elif tag == "img":
            for section in self.stack:
                section["images"] += 1
            if not attrs.get("src", "").startswith("data:image/png;base64,"):
                self.external.append(attrs.get("src", ""))
        elif tag in ("link", "script"):
            self.external.append(attrs.get("href") or attrs.get("src") or tag)
        elif tag in ("td", "th"):
            self._in_cell = True
            self.cells.append("")

    def handle_endtag(self, tag):
        if tag == "section":
            self.stack.pop()
        elif tag in ("td", "th"):
            self._in_cell = False

    def handle_data(self, data):
        if self._in_cell:
            self.cells[-1] += data
        for section in self.stack:
            section["text"] += data

    def section(self, name: str, index: int = 0) -> dict:
        return [s for s in self.sections if s["class"].split()[0] == name][index]


def test_a_2d_run_page_holds_every_section_and_its_numbers(tmp_path):
    config = tiny_config(tmp_path, "mspgsen", steps=8, data="grid25", extra=[*PREVIEWS, "train.report=true"])
    run = api.train(config).run_dir
    page = Page((run / "report.html").read_text())
    assert [s["class"] for s in page.sections if s["class"] in RUN_SECTIONS] == list(RUN_SECTIONS)
    assert page.section("samples")["images"] >= 3  # previews at steps 4 and 8, and the final scatter
    for name in ("losses", "discriminator"):
        assert page.section(name)["images"] == 1, name
    acted = {json.loads(line)["controller"] for line in (run / "controller.jsonl").read_text().splitlines()}
    assert page.section("knobs")["images"] == 1 + len(acted)  # the learning rates, then each controller's knobs
    final = json.loads((run / "metrics.json").read_text())["modes2d"]
    metrics = page.section("metrics")["text"]
    assert "Protocol: 25 Gaussians" in metrics and "PacGAN4 (PacGAN, Table 2)" in metrics  # anchors, same protocol
    assert str(final["modes_covered"]) in page.cells and f"{100 * final['high_quality']:.4g}" in page.cells
    assert "apfl: acted at" in page.section("knobs")["text"]  # the controllers' actions
    assert not page.external  # self-contained: every image is embedded


def test_an_image_run_page_and_anchors_only_on_the_same_protocol(tmp_path, tiny_images):
    run = api.train(tiny_config(tmp_path, "dcgan", steps=8, data=tiny_images, extra=PREVIEWS)).run_dir
    out = tmp_path / "page.html"
    assert main(["report", str(run), "--out", str(out)]) == 0
    page = Page(out.read_text())
    assert all(not s["class"].endswith("missing") for s in page.sections if s["class"].split()[0] != "metrics")
    assert page.section("samples")["images"] >= 2 and page.section("losses")["images"] == 1
    assert "PacGAN" not in page.section("metrics")["text"]  # no anchor for a folder of images
    off_protocol = api.train(tiny_config(tmp_path, "dcgan", steps=4, data="ring8", name="wide",
                                         extra=["data.std=0.05"])).run_dir
    api.report([off_protocol], out=tmp_path / "wide.html")
    text = Page((tmp_path / "wide.html").read_text()).section("metrics")["text"]
    assert "Not PacGAN's data parameters" in text and "PacGAN2" not in text


def test_a_report_of_two_seeds_shows_their_mean_and_std(tmp_path):
    runs = [api.train(tiny_config(tmp_path, "dcgan", steps=6, name=f"seed{s}", seed=s)).run_dir for s in (0, 1)]
    other = api.train(tiny_config(tmp_path, "wgan", steps=6, name="wgan")).run_dir
    out = api.report([*runs, other], out=tmp_path / "study.html")
    page = Page(out.read_text())
    comparison = page.section("comparison")
    covered = [json.loads((r / "metrics.json").read_text())["modes2d"]["modes_covered"] for r in runs]
    mean = sum(covered) / 2
    std = abs(covered[0] - covered[1]) / 2 ** 0.5
    assert f"{mean:.4g} ± {std:.4g}" in comparison["text"]
    assert "0, 1" in page.cells  # the two seeds share one row; the wgan run has its own
    assert any(cell.startswith("model.name=wgan") for cell in page.cells)  # named by how it departs
    assert comparison["images"] == 1 and sum(s["class"] == "run" for s in page.sections) == 3


def test_a_missing_or_damaged_file_marks_its_section(tmp_path):
    run = api.train(tiny_config(tmp_path, "dcgan", steps=6)).run_dir
    (run / "stats.jsonl").write_text('{"step": 5, "G/adv": 1.0}\nnot json at all\n')
    (run / "metrics.json").unlink()
    page = Page(api.report([run], out=tmp_path / "damaged.html").read_text())
    assert "damaged" in page.section("losses")["text"] and page.section("losses")["images"] == 1
    assert page.section("metrics")["class"] == "metrics missing" and "missing" in page.section("metrics")["text"]
    (run / "stats.jsonl").unlink()
    page = Page(api.report([run], out=tmp_path / "bare.html").read_text())
    assert page.section("losses")["class"] == "losses missing"
    assert page.section("summary")["images"] == 0 and "dcgan" in page.cells


def test_report_of_what_is_not_a_run_is_a_clear_error(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert "not a run folder" in capsys.readouterr().err


def test_the_demo_config_writes_its_page_and_names_it_last(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["train", "--config", str(Path(__file__).parents[1] / "configs" / "demo-grid25.yaml"),
                 "--steps", "20", "--out", str(out), "--set", "train.progress=false"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith(f"report: {out / 'report.html'}")
    assert (out / "report.html").stat().st_size > 10_000


def test_the_page_renders_in_headless_chromium(tmp_path):
    """What the CI's browser check asserts: the page renders, not blank, with no console error."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (.ci/run installs Debian's package when it can)")
    from PIL import Image, ImageStat

    run = api.train(tiny_config(tmp_path, "dcgan", steps=6, extra=PREVIEWS)).run_dir
    page = api.report([run], out=tmp_path / "page.html")
    shot = tmp_path / "shot.png"
    result = subprocess.run([browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1200,1600",
                             "--enable-logging=stderr", "--v=0", f"--screenshot={shot}", page.as_uri()],
                            capture_output=True, text=True, timeout=120)
    assert shot.is_file(), result.stderr[-2000:]
    console = [line for line in result.stderr.splitlines() if re.search(r"CONSOLE|Uncaught", line)]
    assert not console, console
    stats = ImageStat.Stat(Image.open(shot).convert("L"))
    assert stats.stddev[0] > 10  # text, tables and figures, not a blank page
