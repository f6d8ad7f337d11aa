"""How words become index terms, the same for every search engine.

Every backend indexes a field's words lower-cased, accents folded (``Müller`` is
``muller``, ``straße`` is ``strasse``) and cut to their English stem by Snowball's
English stemmer (Porter2): tantivy's ``stemmer("english")``, PostgreSQL's snowball
dictionary and Whoosh's StemFilter (given :func:`stem`) all run that algorithm. No
backend drops stop words from the index, so a phrase such as ``"duty of care"`` is
matched word for word; a query drops them only as words on their own
(:data:`STOP_WORDS`).

A query word is analysed here, once, whatever the engine: :func:`term` is its index
term, and :func:`spellings` its British and American spellings (``behaviour`` finds
``behavior``): spelling is expanded at query time only, so it costs the index nothing.
A wildcard ``word*`` matches the words that begin with ``word`` as typed (folded, not
stemmed): each backend keeps its fields' unstemmed words for that.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer

# Words no query searches for on their own: they are in nearly every record.
STOP_WORDS = frozenset(
    "a an and are as at be but by for from has have if in into is it its no not of on or "
    "such that the their then there these they this to was were will with".split()
)
# A word as every backend's tokenizer sees one: letters and digits (tantivy splits on
# anything else; so do the snippets).
WORD = re.compile(r"[^\W_]+")

# Letters that do not decompose into a base letter and accents (as tantivy's
# ascii_fold and PostgreSQL's unaccent fold them).
_SPECIAL = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "œ": "oe",
        "ø": "o",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "ı": "i",
        "ŀ": "l",
    }
)
_MARKS = re.compile(r"[\u0300-\u036f]+")
_stemmer = Stemmer.Stemmer("english")


def fold(word: str) -> str:
    """Lower case, accents folded: ``Müller`` -> ``muller``."""
    word = word.lower()
    if word.isascii():
        return word
    # Mapped again once the accents are gone: ǣ is æ with a macron (fold(fold(w)) is
    # fold(w), so a word typed folded finds the word as written).
    bare = _MARKS.sub("", unicodedata.normalize("NFKD", word.translate(_SPECIAL)))
    return bare.translate(_SPECIAL)


@lru_cache(maxsize=100_000)
def stem(word: str) -> str:
    """The Snowball English stem of a folded word."""
    return _stemmer.stemWord(word)


def term(word: str) -> str:
    """The index term of one word as written."""
    return stem(fold(word))


def words(text: str) -> list[str]:
    """The words of a text, as the tokenizers split it."""
    return WORD.findall(text)


# Whole words whose British and American spellings no suffix rule covers (folded,
# British first).
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
_AMERICAN_WORDS = {us: uk for uk, us in _WORDS.items()}
_ENDINGS = r"(s|ed|ing|ings|able|ably|ite|ites|er|ers|hood|hoods|ful|less|ist|ists|ism|al|ally|ly)?"
# (British pattern, American form; American pattern, British form)
_SUFFIX_RULES = [
    # behaviour(al|s), colour(ful), favourite, neighbourhood / behavior...
    (
        re.compile(rf"^(\w{{2,}}?)our{_ENDINGS}$"),
        r"\1or\2",
        re.compile(rf"^(\w{{2,}}?)or{_ENDINGS}$"),
        r"\1our\2",
    ),
    # organise(d), organisation(s), recognising / organize...
    (
        re.compile(r"^(\w{3,}?)is(e|es|ed|ing|ings|ation|ations|ational|er|ers|able)$"),
        r"\1iz\2",
        re.compile(r"^(\w{3,}?)iz(e|es|ed|ing|ings|ation|ations|ational|er|ers|able)$"),
        r"\1is\2",
    ),
    # analyse(d), paralysing / analyze...
    (
        re.compile(r"^(\w{2,}?)ys(e|es|ed|ing|er|ers)$"),
        r"\1yz\2",
        re.compile(r"^(\w{2,}?)yz(e|es|ed|ing|er|ers)$"),
        r"\1ys\2",
    ),
    # centre(s), theatre / center(s)
    (re.compile(r"^(\w{2,}?)tre(s)?$"), r"\1ter\2", re.compile(r"^(\w{2,}?)ter(s)?$"), r"\1tre\2"),
    # dialogue, catalogue(s) / dialog, catalog(s)
    (re.compile(r"^(\w{3,}?)ogue(s)?$"), r"\1og\2", re.compile(r"^(\w{3,}?)og(s)?$"), r"\1ogue\2"),
    # paediatric, haematology, anaesthesia, oestrogen / pediatric...
    (re.compile(r"^(orthop|p)aed"), r"\1ed", re.compile(r"^(orthop|p)ed"), r"\1aed"),
    (re.compile(r"^haem"), "hem", re.compile(r"^hem"), "haem"),
    (re.compile(r"^anaes"), "anes", re.compile(r"^anes"), "anaes"),
    (re.compile(r"^oes(trog|oph)"), r"es\1", re.compile(r"^es(trog|oph)"), r"oes\1"),
]


@lru_cache(maxsize=10_000)
def spellings(word: str) -> tuple[str, ...]:
    """A folded word and its other English spelling(s), if any: ``behaviour`` ->
    (behaviour, behavior), ``organize`` -> (organize, organise). A made-up variant
    (``doctour``) costs a search nothing: no record holds it."""
    found = [word]
    for other in (_WORDS.get(word), _AMERICAN_WORDS.get(word)):
        if other:
            found.append(other)
    for british, american, us_pattern, british_form in _SUFFIX_RULES:
        for pattern, replacement in ((british, american), (us_pattern, british_form)):
            new, count = pattern.subn(replacement, word)
            if count and new not in found:
                found.append(new)
    return tuple(found)


def terms(word: str) -> tuple[str, ...]:
    """The index terms one query word matches: each of its spellings, stemmed."""
    out: list[str] = []
    for spelling in spellings(fold(word)):
        t = stem(spelling)
        if t not in out:
            out.append(t)
    return tuple(out)
