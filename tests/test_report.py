"""``ntkjam report``: the smoke profile end to end, its documents, resuming, bad input.

The smoke profile (a few tasks per study) runs once per session through the CLI; the
tests read its HTML and Markdown: every section heading, every embedded figure a PNG
that decodes, the same numbers in both documents, and a second run that computes
nothing.  A slow test opens the page in headless Chromium.
"""

from __future__ import annotations

import base64
import io
import math
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import ntkjam.cli.report  # noqa: F401  (registers the command)
from ntkjam.cli import app
from ntkjam.report.document import against, ci, mean_ci, num, overlap, pm
from ntkjam.report.profiles import PROFILES, STUDIES, profile_settings, report_specs

PNG = b"\x89PNG\r\n\x1a\n"
TITLES = (
    "1. Is there a jamming transition in function space?",
    "2. How does the spectrum of K depend on φ?",
    "3. What is critical at φ_c?",
    "4. How large are finite-width kernel fluctuations",
    "5. Are there stable fixed points that are not minima of the loss?",
    "6. Lazy vs trained networks",
    "7. Generalization across φ",
)


class _Page(HTMLParser):
    """Headings, embedded images and answer paragraphs of the report page."""

    def __init__(self):
        super().__init__()
        self.headings, self.images, self.answers = [], [], []
        self._tag = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        if tag == "h2" or (tag == "p" and attrs.get("class") == "answer"):
            self._tag = tag
            (self.headings if tag == "h2" else self.answers).append("")

    def handle_endtag(self, tag):
        if tag == self._tag:
            self._tag = None

    def handle_data(self, data):
        if self._tag == "h2":
            self.headings[-1] += data
        elif self._tag == "p":
            self.answers[-1] += data


@pytest.fixture(scope="module")
def smoke(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "smoke"
    result = CliRunner().invoke(app, ["report", "--smoke", "--output", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def page(smoke) -> _Page:
    p = _Page()
    p.feed((smoke / "report.html").read_text(encoding="utf-8"))
    return p


def test_html_has_every_section_and_its_answer(page):
    for title in TITLES:
        assert any(h.startswith(title) for h in page.headings), (title, page.headings)
    assert len(page.answers) == len(TITLES)
    assert all(len(a) > 80 for a in page.answers)


def test_every_embedded_figure_is_a_png_that_decodes(page):
    from PIL import Image

    assert len(page.images) >= 3
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        data = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert data.startswith(PNG)
        with Image.open(io.BytesIO(data)) as im:
            im.verify()
            assert im.size[0] > 100 and im.size[1] > 100


def test_markdown_has_the_same_sections_numbers_and_figures(smoke, page):
    md = (smoke / "report.md").read_text(encoding="utf-8")
    for title in TITLES:
        assert f"## {title}" in md
    for answer in page.answers:
        numbers = re.findall(r"-?\d+(?:\.\d+)?(?:e[+-]\d+)?", answer)
        assert numbers
        assert all(n in md for n in numbers)
        assert answer.split(" ", 1)[1] in md  # the paragraph itself, word for word
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert len(links) == len(page.images)
    for link in links:
        assert (smoke / link).read_bytes().startswith(PNG)


def test_the_html_records_versions_revision_command_and_machine(smoke):
    html = (smoke / "report.html").read_text(encoding="utf-8")
    for word in ("git revision", "command line", "ntkjam report --smoke", "CPU count", "JAX",
                 "NumPy", "Python", "platform", "phase_diagram", "kernel_fluctuations"):
        assert word in html, word
    assert "http://" not in html and "https://" not in html  # self-contained
    assert "<script" not in html


def test_a_second_run_reuses_every_stored_task(smoke):
    from ntkjam.report.running import run_studies

    runs = run_studies(report_specs("smoke", smoke))
    assert [r.name for r in runs] == list(STUDIES)
    assert all(r.total > 0 and r.skipped == r.total and r.ran == 0 for r in runs), runs


@pytest.mark.parametrize("args, option", [
    (["--workers", "0"], "--workers"),
    (["--smoke", "--full"], "--smoke"),
    (["--markdown", "notes.txt"], "--markdown"),
])
def test_bad_input_is_one_line_exit_2_and_nothing_written(tmp_path, args, option):
    out = tmp_path / "never"
    result = CliRunner().invoke(app, ["report", "--output", str(out), *args])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and option in lines[0], result.output
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_an_output_that_is_a_file_is_refused(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    result = CliRunner().invoke(app, ["report", "--smoke", "--output", str(target)])
    assert result.exit_code == 2 and "--output" in result.output
    assert target.read_text() == "x"


@pytest.mark.parametrize("profile", PROFILES)
def test_every_profile_builds_valid_specs_with_one_directory_per_study(tmp_path, profile):
    specs = report_specs(profile, tmp_path)
    assert list(specs) == list(STUDIES)
    dirs = [s.output_dir() for study in specs.values() for s in study]
    assert len(set(dirs)) == len(dirs)
    assert all(d.parent == tmp_path / "runs" for d in dirs)
    assert not (tmp_path / "runs").exists()  # building specs writes nothing


def test_profiles_grow_and_unknown_ones_are_refused():
    quick, full = profile_settings("quick"), profile_settings("full")
    assert max(full["jamming_relu"]["P"]) > max(quick["jamming_relu"]["P"])
    assert full["jamming_relu"]["seeds"] > quick["jamming_relu"]["seeds"]
    with pytest.raises(ValueError, match="profile must be one of"):
        profile_settings("huge")


def test_number_words():
    assert num(float("nan")) == "undetermined" and num(None) == "undetermined"
    assert num(2.0) == "2.00" and num(0.012345) == "0.0123" and num(12345678.0) == "1.23e+07"
    assert ci(1.0, float("inf")) == "undetermined"
    assert against(1.9, 2.1, 2.0).startswith("consistent with")
    assert against(2.1, 2.3, 2.0).startswith("excludes")
    assert against(float("nan"), 2.3, 2.0) == "undetermined"
    assert pm(1.0, 10.0).startswith("undetermined (")  # an interval wider than the value
    assert pm(2.0, 0.01) == "2.00 ± 0.020"
    assert mean_ci(1.0, float("nan"), float("nan")).endswith("no interval)")
    assert overlap((0, 1), (0.5, 2)) == "consistent" and overlap((0, 1), (2, 3)) == "different"


def test_fixed_points_follow_the_theory():
    """N ≤ P: the flow ends at a minimum; N > P (MSE): a stable fixed point that is not."""
    from ntkjam.experiments.fixed_points import fixed_point_task

    below = fixed_point_task({"P": 20, "phi": 0.5, "loss": "mse"}, 3)
    above = fixed_point_task({"P": 20, "phi": 2.0, "loss": "mse"}, 3)
    hinge = fixed_point_task({"P": 20, "phi": 3.0, "loss": "quadratic_hinge"}, 3)
    assert below["kind"] == "minimum" and below["sat"]
    assert above["kind"] == "fixed_point_not_minimum" and not above["sat"]
    assert above["n_unstable"] == 0 and above["lyapunov_stable"]
    assert above["rank"] == 20 and above["n"] == 40
    assert hinge["not_minimum"] == (not hinge["sat"]) and hinge["n_unstable"] == 0
    again = fixed_point_task({"P": 20, "phi": 2.0, "loss": "mse"}, 3)
    assert again == above  # same params and seed, same result
    with pytest.raises(ValueError, match="loss"):
        fixed_point_task({"P": 20, "phi": 2.0, "loss": "hinge"}, 3)


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
@pytest.mark.skipif(_chromium() is None, reason="no chromium (apt-get install chromium)")
def test_the_page_opens_in_headless_chromium_without_console_errors(smoke, tmp_path):
    """Load the page in a real browser: the DOM it builds has every heading and figure
    (each decoded: a non-zero natural width), and the console logs no error."""
    probe = tmp_path / "probe.html"
    html = (smoke / "report.html").read_text(encoding="utf-8")
    script = ("<script>window.addEventListener('load', () => {"
              "const imgs = [...document.images];"
              "const ok = imgs.filter(i => i.complete && i.naturalWidth > 0).length;"
              "document.body.setAttribute('data-decoded', ok + '/' + imgs.length);});"
              "</script>")
    probe.write_text(html.replace("</body>", script + "</body>"), encoding="utf-8")
    run = subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
         "--v=0", "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    dom = run.stdout
    n_img = html.count("<img ")
    assert f'data-decoded="{n_img}/{n_img}"' in dom
    for title in TITLES:
        assert title in dom
    # Chromium logs every console message of the page (console.error too) as
    # "INFO:CONSOLE"; the page has no script of its own, so there must be none.
    console = [line for line in run.stderr.splitlines() if "CONSOLE" in line]
    assert not console, console


def test_the_answers_quote_no_number_twice_differently(page):
    """A number in an answer is the same text in both places it comes from: sanity of
    the formatting (every "±" followed by a number, no 'nan' or 'inf' printed)."""
    text = " ".join(page.answers)
    assert "nan" not in text.lower().replace("nanoseconds", "")
    assert not re.search(r"\binf\b", text)
    assert all(re.match(r"\s*\d", part) for part in text.split("±")[1:])
    assert np.all([len(a) < 6000 for a in page.answers])


def _onset(**kw):
    from types import SimpleNamespace

    base = dict(name="loss", basis="combined", supported=True, value=0.15, ci_low=0.10,
                ci_high=0.20, verdict="jump", theory_value=0.159, exponent=math.nan,
                exponent_err=math.nan, theory_exponent=0.5)
    return SimpleNamespace(**(base | kw))


def test_the_answer_tests_the_theory_only_against_a_result():
    """The answer of section 3 sets the RS value against a measured interval, never
    against a fit that is not a result, and says so when the interval cannot decide."""
    from ntkjam.report.sections_jamming import _onset_sentence

    jump = _onset_sentence(_onset(), "the loss")
    assert jump == "the loss at φ_c⁺ = 0.150 [0.100, 0.200] (jump), RS theory 0.159 " \
                   "(consistent with RS = 0.159)"
    off = _onset_sentence(_onset(ci_low=0.16, ci_high=0.2, value=0.18), "the loss")
    assert "excludes RS = 0.159" in off
    wide = _onset_sentence(_onset(verdict="undetermined", ci_low=-0.1, ci_high=0.29,
                                  value=0.09), "the loss")
    assert "(undetermined)" in wide and "too wide to test it" in wide
    assert "consistent" not in wide
    below = _onset_sentence(_onset(name="isostaticity", supported=False, value=0.6,
                                   verdict="undetermined", theory_value=1.0), "N_Δ/rank")
    assert below == ("N_Δ/rank at φ_c⁺ not a result (the fit's limit 0.600 lies below the "
                     "physical minimum 1); RS theory 1.00, not tested")
    none = _onset_sentence(_onset(basis="none", value=math.nan), "the loss")
    assert none == "the loss at φ_c⁺ not measured (RS theory 0.159)"
    slope = _onset_sentence(_onset(exponent=0.5, exponent_err=0.05), "the loss")
    assert slope.endswith("approach exponent a = 0.500 [0.402, 0.598] (consistent with RS = 0.500)")


def test_an_exponent_whose_interval_holds_zero_resolves_no_power_law():
    from types import SimpleNamespace

    from ntkjam.report.sections_jamming import _exponent_verdict

    wide = SimpleNamespace(ci_low=-0.003, ci_high=0.54, theory=0.41269)
    tight = SimpleNamespace(ci_low=0.04, ci_high=0.79, theory=0.41269)
    off = SimpleNamespace(ci_low=-0.2, ci_high=0.3, theory=0.41269)
    assert _exponent_verdict(wide, "γ") == ("consistent with γ = 0.413, and with 0: no power "
                                            "law resolved")
    assert _exponent_verdict(tight, "γ") == "consistent with γ = 0.413"
    assert _exponent_verdict(off, "γ") == "excludes γ = 0.413"
