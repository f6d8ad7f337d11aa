"""How text becomes index terms: English stemming, accent folding, one spelling.

``behaviour`` and ``behavior``, ``organisation`` and ``organization``, ``Müller`` and
``Muller`` give the same terms, at indexing and at query time alike: the same analyzer
runs on both sides, so a rule only has to map both spellings to one form, not to the
"right" one.
"""

from __future__ import annotations

import re

from whoosh.analysis import Filter, RegexTokenizer
from whoosh.analysis.filters import STOP_WORDS
from whoosh.lang.porter import stem
from whoosh.support.charset import accent_map

# Whole words whose British and American spellings no suffix rule covers.
_WORDS = {
    "judgement": "judgment",
    "judgements": "judgments",
    "programme": "program",
    "programmes": "programs",
    "ageing": "aging",
    "licence": "license",
    "licences": "licenses",
    "defence": "defense",
    "offence": "offense",
    "offences": "offenses",
    "practise": "practice",
    "practised": "practiced",
    "practising": "practicing",
    "grey": "gray",
    "enrolment": "enrollment",
    "fulfil": "fulfill",
    "modelling": "modeling",
    "modelled": "modeled",
    "labelling": "labeling",
    "labelled": "labeled",
    "counselling": "counseling",
    "counsellor": "counselor",
    "counsellors": "counselors",
    "travelling": "traveling",
    "cancelled": "canceled",
}
_SUFFIX_RULES = [
    # behaviour(al|s), colour(ful), favourite, neighbourhood -> -or-
    (
        re.compile(
            r"^(\w{2,}?)our(s|ed|ing|ings|able|ably|ite|ites|er|ers|hood|hoods|ful|less"
            r"|ist|ists|ism|al|ally|ly)?$"
        ),
        r"\1or\2",
    ),
    # organise(d), organisation(s), recognising -> -iz-
    (re.compile(r"^(\w{3,}?)is(e|es|ed|ing|ings|ation|ations|ational|er|ers|able)$"), r"\1iz\2"),
    # analyse(d), paralysing -> -yz-
    (re.compile(r"^(\w{2,}?)ys(e|es|ed|ing|er|ers)$"), r"\1yz\2"),
    # centre(s), theatre -> -ter
    (re.compile(r"^(\w{2,}?)tre(s)?$"), r"\1ter\2"),
    # dialogue, catalogue(s) -> -og
    (re.compile(r"^(\w{3,}?)ogue(s)?$"), r"\1og\2"),
    # paediatric, haematology, anaesthesia, oestrogen -> pe-, he-, ane-, e-
    (re.compile(r"^(orthop|p)aed"), r"\1ed"),
    (re.compile(r"^haem"), "hem"),
    (re.compile(r"^anaes"), "anes"),
    (re.compile(r"^oes(trog|oph)"), r"es\1"),
]


def american_spelling(word: str) -> str:
    """One spelling for words written differently in British and American English."""
    if word in _WORDS:
        return _WORDS[word]
    for pattern, replacement in _SUFFIX_RULES:
        new, count = pattern.subn(replacement, word)
        if count:
            return new
    return word


_MISSING = object()


class EnglishFilter(Filter):
    """Lower case, accents folded, stop words dropped, one spelling, Porter stem: in one
    step, remembered per word.

    The same as ``LowercaseFilter | CharsetFilter(accent_map) | StopFilter() | spelling
    | StemFilter()``, token for token (stop words renumbered away as StopFilter does), at
    about half the cost: a text's words repeat, so most tokens are one dictionary lookup
    instead of six generator layers.
    """

    def __init__(self, cachesize: int = 200_000) -> None:
        self._cachesize = cachesize
        self._cache: dict[str, tuple[str | None, str]] = {}

    def __getstate__(self) -> dict:
        # Whoosh pickles the schema into the index at every commit: not the cache.
        return {"_cachesize": self._cachesize}

    def __setstate__(self, state: dict) -> None:
        self._cachesize = state["_cachesize"]
        self._cache = {}

    def term(self, raw: str) -> str | None:
        """The index term of one raw word (None for a stop word), remembered."""
        found = self._cache.get(raw)
        if found is None:
            found = self.word(raw)
            if len(self._cache) < self._cachesize:
                self._cache[raw] = found
        return found[0]

    @staticmethod
    def word(raw: str) -> tuple[str | None, str]:
        """(index term or None for a stop word, the folded word)."""
        folded = raw.lower().translate(accent_map)
        if len(folded) < 2 or folded in STOP_WORDS:
            return None, folded
        return stem(american_spelling(folded)), folded

    def __call__(self, tokens):
        cache, size = self._cache, self._cachesize
        pos = None
        for t in tokens:
            raw = t.text
            found = cache.get(raw, _MISSING)
            if found is _MISSING:
                found = self.word(raw)
                if len(cache) < size:
                    cache[raw] = found
            term, folded = found  # type: ignore[misc]
            if term is not None:
                if t.positions:
                    if pos is None:
                        pos = t.pos
                    else:
                        pos += 1
                        t.pos = pos
                t.text = term
                t.stopped = False
                yield t
            elif not t.removestops:
                t.text = folded
                t.stopped = True
                yield t


def term_offsets(analyzer, text: str, terms) -> dict[str, list[tuple[int, int, int]]]:
    """Where the index ``terms`` occur in ``text``: {term: [(n, start, end), ...]}.

    The words the analyzer would find, found with its own pattern and word cache but
    without its token stream: for a snippet of a field indexed without offsets, this
    is several times cheaper than analysing the text again.
    """
    tokenizer, english = analyzer.items
    found: dict[str, list[tuple[int, int, int]]] = {term: [] for term in terms}
    for n, match in enumerate(tokenizer.expression.finditer(text)):
        term = english.term(match.group())
        if term in found:
            found[term].append((n, match.start(), match.end()))
    return found


def text_analyzer():
    """Words, lower-cased, accents folded, stop words dropped, one spelling, stemmed."""
    return RegexTokenizer() | EnglishFilter()
