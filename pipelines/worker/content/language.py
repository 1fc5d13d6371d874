"""A page's language when it declares none: a tiny detector, free of any model or download.

Pages in a script of their own (Greek, Cyrillic aside, Arabic, Hebrew, CJK, Thai,
Devanagari) are told by their characters; Latin and Cyrillic ones by counting a few dozen of
each language's commonest words. It knows the languages below and answers None for others,
and for texts too short to tell: a wrong guess costs a search index more than no guess.
"""

from __future__ import annotations

import re
from collections import Counter

SAMPLE_CHARS = 4000
"""Enough text to decide; reading a long article whole would only cost time."""

MIN_STOPWORD_HITS = 3
MIN_SCRIPT_SHARE = 0.3
"""The share of letters a script needs before the text is said to be written in it."""

_STOPWORDS: dict[str, str] = {
    "en": "the of and to in is that for it with as was on are be this by not you at from have",
    "de": "der die und das ist nicht ein eine zu den mit sich auf dem des für von im auch wird",
    "fr": "le la les et des est une un que pour dans qui pas sur au avec du ce sont aux par",
    "es": "el la los las que del por una con para es se al lo como más pero sus ha fue",
    "it": "il di che la per una sono gli della non con anche del nel alla più le è dei",
    "pt": "o que os uma com para não da do as dos ao mais das pelo foi são na em",
    "nl": "de het een en van is dat niet op te zijn voor met die ook aan er maar wordt",
    "sv": "och att det som en är på för med av inte till den har om ett var jag",
    "da": "og at det som en er på for med af ikke til den har om et var jeg de",
    "nb": "og at det som en er på for med av ikke til den har om et var jeg seg",
    "pl": "i w na nie się z do to że jest o jak ale od za po co przez dla są",
    "cs": "a v na se je že to s z do o jako ale pro by jsou k tak od ve",
    "fi": "ja on ei se että oli hän ovat mutta kuin myös tai jos sen kun joka",
    "hu": "a az és hogy nem is egy van de meg ez el csak már mint volt még",
    "ro": "și în de la cu nu o să se din pe care este un mai pentru sunt",
    "tr": "ve bir bu da de için ile olarak çok daha gibi ama olan değil kadar",
    "id": "yang dan di ini itu dengan untuk dari tidak dalam akan pada juga ke ada",
    "ru": "и в не на что с по как это из к но он у за от о так его для",  # noqa: RUF001 (Cyrillic words)
    "uk": "і в не на що з та як це до у але від за він про так його для є",  # noqa: RUF001 (Cyrillic words)
}
_LANGUAGES_OF_WORD: dict[str, tuple[str, ...]] = {}
for _lang, _words in _STOPWORDS.items():
    for _word in _words.split():
        _LANGUAGES_OF_WORD[_word] = (*_LANGUAGES_OF_WORD.get(_word, ()), _lang)

_SCRIPTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ja", re.compile(r"[\u3040-\u30ff]")),  # kana: Japanese even among Han characters
    ("ko", re.compile(r"[\uac00-\ud7af]")),
    ("zh", re.compile(r"[\u4e00-\u9fff]")),
    ("ar", re.compile(r"[\u0600-\u06ff]")),
    ("he", re.compile(r"[\u0590-\u05ff]")),
    ("el", re.compile(r"[\u0370-\u03ff]")),
    ("th", re.compile(r"[\u0e00-\u0e7f]")),
    ("hi", re.compile(r"[\u0900-\u097f]")),
)
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def detect_language(text: str) -> str | None:
    """The ISO 639-1 code of the language ``text`` is most likely in, or None if unsure."""
    sample = text[:SAMPLE_CHARS]
    letters = len(_LETTER.findall(sample))
    if not letters:
        return None
    for lang, script in _SCRIPTS:
        if len(script.findall(sample)) >= letters * MIN_SCRIPT_SHARE:
            return lang
    votes: Counter[str] = Counter()
    for word in _WORD.findall(sample.lower()):
        for lang in _LANGUAGES_OF_WORD.get(word, ()):
            votes[lang] += 1
    ranked = votes.most_common(2)
    if not ranked or ranked[0][1] < MIN_STOPWORD_HITS:
        return None
    if len(ranked) == 2 and ranked[1][1] == ranked[0][1]:
        return None  # a tie (Danish and Norwegian share most small words): no guess
    return ranked[0][0]
