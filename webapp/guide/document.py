"""The guide as files: one self-contained HTML file (screenshots inline), its PDF (Chromium's print) and a
PNG of its first screen at phone width."""

import base64
from datetime import date
from pathlib import Path

from flask import render_template
from flask_babel import gettext as _
from playwright.sync_api import Browser

from webapp.guide.walk import PHONE, Part, Step
from webapp.rendering import date_format


def part_titles() -> dict[Part, str]:
    return {
        Part.APPLY: _("Ask the school for an account"),
        Part.LOG_IN: _("Log in and set a password"),
        Part.NO_EMAIL: _("The e-mail does not come"),
    }


def render(language: str, steps: list[Step]) -> str:
    """The guide's HTML in `language` (called in a request context with that locale)."""
    numbered = [
        (number, step, "data:image/png;base64," + base64.b64encode(step.screenshot).decode("ascii"))
        for number, step in enumerate(steps, start=1)
    ]
    parts = [
        (title, [entry for entry in numbered if entry[1].part == part])
        for part, title in part_titles().items()
    ]
    return render_template(
        "guide/guide.html", language=language, parts=parts, made=date_format(date.today(), "long")
    )


def write(browser: Browser, html: str, out: Path, language: str) -> list[Path]:
    """guide-<language>.html, .pdf and -page1.png in `out`; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    html_path, pdf_path, png_path = (
        out / f"guide-{language}.html",
        out / f"guide-{language}.pdf",
        out / f"guide-{language}-page1.png",
    )
    html_path.write_text(html, encoding="utf-8")
    context = browser.new_context(viewport=PHONE, device_scale_factor=2)
    page = context.new_page()
    page.set_content(html, wait_until="load")
    # The first page on a phone: the title and the first step with its screen.
    bottom = page.locator(".step").first.evaluate("step => step.getBoundingClientRect().bottom")
    page.screenshot(
        path=str(png_path),
        full_page=True,
        clip={"x": 0, "y": 0, "width": PHONE["width"], "height": bottom + 16},
    )
    page.pdf(path=str(pdf_path), prefer_css_page_size=True, print_background=True)
    context.close()
    return [html_path, pdf_path, png_path]
