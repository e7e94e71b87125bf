"""`flask guide build`: the parents' guide is made from the live screens. Every step has its screenshot,
every word it quotes was on that screen when it was taken, and the Estonian guide quotes the school's own
guide's labels in the school's order."""

import re

from webapp.guide import build
from webapp.guide.walk import Part

# The labels of the seed (seed/parent-access-guide.ru.txt), in its order.
SEED_LABELS = [
    "Loo uus konto",
    "Esita andmed ja taotle kontot",
    "Lisainfo & abi",
    "Esita taotlus sisse logimata",
    "Edasi",
    "VALMIS!",
    "Sinu profiil",
    "Muuda profiili",
    "Salvesta",
]
PNG = b"\x89PNG\r\n\x1a\n"


def test_the_estonian_guide_shows_and_quotes_the_live_screens(browser, tmp_path):
    guide = build(browser, "et", tmp_path)

    for number, step in enumerate(guide.steps, start=1):
        assert step.screenshot.startswith(PNG), number
        assert step.labels or step.part == Part.NO_EMAIL, f"step {number} quotes nothing from its screen"
        for label in step.labels:
            assert label in step.screen_text, f"step {number}: {label!r} is not on its screen"
    quoted = [label for step in guide.steps for label in step.labels]
    assert [label for label in dict.fromkeys(quoted) if label in SEED_LABELS] == SEED_LABELS
    rules = next(step.items for step in guide.steps if step.items)
    assert "Vähemalt 10 märki" in rules
    # The seed's three ways out when the e-mail does not come, after checking the spam folder.
    assert sum(step.part == Part.NO_EMAIL for step in guide.steps) == 4

    html_path, pdf_path, png_path = guide.files
    html = html_path.read_text(encoding="utf-8")
    assert html.count('src="data:image/png;base64,') == len(guide.steps)
    assert not re.search(r'(src|href)="https?:', html), "the guide is one self-contained file"
    assert "<b>Loo uus konto</b>" in html
    assert pdf_path.read_bytes().startswith(b"%PDF-")
    assert png_path.read_bytes().startswith(PNG)
