"""The language detector used when a page declares none."""

from __future__ import annotations

import pytest

from pipelines.worker.content import detect_language


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("The committee said that it was not ready to vote on the plan for the bridge.", "en"),
        ("Die Regierung hat sich nicht auf einen Plan für die neue Brücke geeinigt.", "de"),
        ("Le conseil a dit que le vote sur le projet du pont est reporté pour une semaine.", "fr"),
        ("El gobierno dijo que la votación sobre el puente se aplaza para la semana.", "es"),
        ("Il governo ha detto che il voto per il ponte è rinviato alla settimana.", "it"),
        ("De regering zegt dat de stemming over de brug met een week is uitgesteld.", "nl"),
        ("Правительство сказало, что голосование по мосту не будет на этой неделе.", "ru"),
        ("政府は橋の投票を来週に延期すると発表した。", "ja"),
        ("政府宣布将桥梁投票推迟到下周。", "zh"),
        ("정부는 다리 투표를 다음 주로 연기한다고 발표했다.", "ko"),
        ("Η κυβέρνηση ανακοίνωσε ότι η ψηφοφορία αναβάλλεται.", "el"),  # noqa: RUF001
    ],
)
def test_common_languages_are_recognised(text: str, lang: str) -> None:
    assert detect_language(text) == lang


@pytest.mark.parametrize("text", ["", "12345 678", "Bridge vote", "xqzt vlorp snerg"])
def test_too_little_to_tell_is_no_guess(text: str) -> None:
    assert detect_language(text) is None
