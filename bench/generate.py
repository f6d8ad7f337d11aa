"""Deterministic benchmark data: BibTeX and RIS files with known duplicates.

    python bench/generate.py --out bench/data [--sizes 2000,50000] [--formats bib,ris]

For each size N this writes ``records-N.bib`` and/or ``records-N.ris`` (the same
records in both, with the same entry keys) and ``records-N.truth.json``. Of the N
records, 80% are distinct base papers and 20% are duplicates of one of them, in
three kinds (about a third each):

* ``exact``: the same record again (same DOI, same title);
* ``title_variant``: DOI missing and the title slightly changed (case, punctuation,
  a one-character typo, a trailing period, "&" for "and");
* ``doi_variant``: the same record with the DOI in upper case and/or written as an
  ``https://doi.org/`` URL.

Each base paper has at most one duplicate, which always comes later in the file and
never next to its original. The truth file maps each duplicate's entry key to its
original's key and the kind. Every file of a given size is the same whatever other
sizes or formats are asked for: each size draws from its own ``random.Random(SEED)``.
All records are synthetic, and their DOIs use the reserved example prefix 10.5555.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import string
import sys
import time
from pathlib import Path

SEED = 20261126
DUPLICATE_SHARE = 0.2
KINDS = ("exact", "title_variant", "doi_variant")
BASE_DOI_SHARE = 0.9  # base papers with a DOI; the rest have none
LATEX_SHARE = 0.5  # records whose accented names the .bib writes as LaTeX accents
NOTE = "Synthetic benchmark record; not a real publication."
FORMATS = ("bib", "ris")
DEFAULT_SIZES = (2000, 50000)


def _words(text: str) -> list[str]:
    return [w.strip() for w in text.split("|") if w.strip()]


# ---------------------------------------------------------------- vocabulary
LEADS = _words(
    "Effects of|Impact of|Evaluation of|Predictors of|Determinants of|Trends in|Patterns of|"
    "Outcomes of|Costs and outcomes of|Barriers to|Facilitators of|Use of|Assessing|Measuring|"
    "Understanding|Implementing|Comparing|Variation in|Associations of|Experiences of|"
    "Inequalities in|Changes in|Long-term outcomes of|Feasibility of|Acceptability of"
)
ADJECTIVES = _words(
    "community-based|integrated|digital|structured|early|multidisciplinary|peer-led|"
    "home-based|school-based|family-centred|person-centred|trauma-informed|targeted|"
    "universal|preventive|intensive|brief|remote|automated|algorithmic|predictive|"
    "collaborative|coordinated|statutory|voluntary|informal|formal|local|national|regional|"
    "rural|urban|online|telephone|group|individual|mobile|residential|outpatient|acute|"
    "chronic|social|psychological|financial|environmental|behavioural|cognitive|emotional|"
    "physical|mental|nutritional|occupational|educational|clinical|organisational|"
    "economic|cultural|ethical|legal|participatory|co-produced|evidence-based|"
    "strengths-based|relational|restorative|reflective|supervised|unmet|perceived|"
    "self-reported|routine|administrative|longitudinal|multilevel|adaptive|"
    "culturally adapted|low-intensity|high-intensity|stepped|shared|independent"
)
NOUNS = _words(
    "care|support|intervention|assessment|screening|treatment|outcomes|wellbeing|health|"
    "resilience|loneliness|isolation|housing|employment|income|poverty|debt|education|"
    "attainment|attendance|exclusion|safeguarding|neglect|abuse|violence|harm|risk|"
    "protection|placement|adoption|fostering|kinship care|reunification|rehabilitation|"
    "recovery|relapse|adherence|engagement|participation|decision-making|communication|"
    "supervision|training|workforce|retention|burnout|stress|workload|caseloads|"
    "recording|documentation|information sharing|data linkage|record keeping|"
    "risk prediction|case management|triage|referral|eligibility|commissioning|funding|"
    "governance|accountability|regulation|policy|practice|leadership|collaboration|"
    "partnership|advocacy|coproduction|empowerment|autonomy|dignity|consent|privacy|"
    "confidentiality|trust|stigma|discrimination|bias|equity|inclusion|diversity|"
    "identity|belonging|attachment|parenting|caregiving|respite|transitions|"
    "self-management|mobility|frailty|falls|dementia|depression|anxiety|self-harm|"
    "substance use|alcohol use|medication|nutrition|sleep|physical activity|"
    "service use|hospital admissions|readmission|mortality|quality of life|"
    "satisfaction|costs|cost-effectiveness|productivity|access|waiting times|continuity"
)
POPULATIONS = _words(
    "older adults|young people|children|adolescents|care leavers|looked-after children|"
    "family carers|unpaid carers|parents|fathers|mothers|single parents|"
    "people with dementia|people with learning disabilities|autistic adults|"
    "people with serious mental illness|refugees|asylum seekers|migrant workers|"
    "people experiencing homelessness|veterans|prisoners|people on probation|"
    "social workers|nurses|general practitioners|students|newly qualified practitioners|"
    "health visitors|care home residents|home care workers|disabled adults|"
    "minority ethnic families|low-income households|rural residents|survivors of abuse|"
    "people with long-term conditions|kinship carers|foster carers"
)
SETTINGS = _words(
    "primary care|secondary care|local authorities|children's services|adult social care|"
    "care homes|hospitals|schools|universities|the community|rural areas|urban areas|"
    "deprived neighbourhoods|prisons|emergency departments|mental health services|"
    "the voluntary sector|integrated care systems|youth justice services|"
    "low-income countries|middle-income countries|high-income countries|"
    "family courts|housing services|early help services"
)
COUNTRIES = _words(
    "England|Scotland|Wales|Northern Ireland|Ireland|Norway|Sweden|Denmark|Finland|"
    "the Netherlands|Germany|France|Spain|Portugal|Italy|Poland|Canada|Australia|"
    "New Zealand|South Africa|Kenya|Ghana|India|Japan|Brazil|Chile|Mexico|the United States"
)
DESIGNS = _words(
    "a systematic review|a scoping review|a meta-analysis|a randomised controlled trial|"
    "a cluster randomised trial|a cohort study|a case-control study|a cross-sectional survey|"
    "a qualitative study|a mixed-methods evaluation|a realist evaluation|a process evaluation|"
    "a secondary analysis|a pilot study|a feasibility study|a Delphi study|"
    "an interrupted time series analysis|a natural experiment|an economic evaluation|"
    "a national survey|a study protocol|an ethnographic study"
)
PREPOSITIONS = ("among", "for", "in", "across", "within")
KEYWORDS = _words(
    "social work|social care|child protection|adult safeguarding|mental health|public health|"
    "health services research|primary care|older people|young people|families|carers|"
    "inequalities|poverty|housing|employment|education|workforce|burnout|supervision|"
    "machine learning|artificial intelligence|predictive analytics|data linkage|"
    "administrative data|risk assessment|decision-making|ethics|data protection|privacy|"
    "qualitative research|mixed methods|systematic review|meta-analysis|randomised trial|"
    "cohort study|survey|implementation science|evaluation|cost-effectiveness|policy|"
    "regulation|professional standards|participation|coproduction|stigma|discrimination|"
    "bias|dementia|disability|loneliness|homelessness|substance use|domestic abuse|"
    "foster care|adoption|care leavers|parenting|resilience|wellbeing|quality of life"
)
JOURNAL_FIELDS = _words(
    "Social Work Practice|Social Care Research|Child and Family Studies|Community Health|"
    "Applied Social Policy|Welfare Informatics|Practice Research|Care and Ageing|"
    "Youth and Family Services|Mental Health and Society|Health and Social Care Integration|"
    "Social Services Evaluation|Safeguarding Studies|Disability and Inclusion|"
    "Public Service Innovation|Digital Welfare|Family Support Research|Housing and Health|"
    "Poverty and Inequality|Workforce and Professions"
)
JOURNAL_PATTERNS = (
    "Journal of {}",
    "{} Review",
    "International Journal of {}",
    "{} Quarterly",
    "European Journal of {}",
    "Annals of {}",
)

FAMILY_NAMES = _words(
    "Smith|Jones|Taylor|Brown|Williams|Wilson|Johnson|Davies|Robinson|Wright|Thompson|"
    "Evans|Walker|White|Roberts|Green|Hall|Wood|Jackson|Clarke|Patel|Khan|Ahmed|Singh|"
    "Begum|Ali|Hussain|Okafor|Mensah|Adeyemi|Nwosu|Mwangi|Osei|Kamara|Diallo|Ndlovu|"
    "Chen|Wang|Li|Zhang|Liu|Nguyen|Tran|Kim|Park|Lee|Tanaka|Sato|Suzuki|Yamamoto|"
    "Kowalski|Nowak|Novak|Horvat|Popescu|Ivanova|Petrov|Rossi|Russo|Ferrari|Bianchi|"
    "Silva|Santos|Oliveira|Costa|Pereira|Almeida|Murphy|Kelly|O'Brien|Byrne|Ryan|Walsh|"
    "MacDonald|Campbell|Stewart|Fraser|Morrison|Hansen|Johansen|Larsen|Nielsen|Jensen|"
    "Andersson|Karlsson|Nilsson|Virtanen|Korhonen|Mäkinen|Müller|Schmidt|Schneider|"
    "Fischer|Weber|Schäfer|Köhler|Krüger|Schröder|Jäger|Sánchez|García|Martínez|López|"
    "Fernández|González|Rodríguez|Pérez|Gómez|Jiménez|Álvarez|Núñez|Muñoz|Peña|Ibáñez|"
    "Lefèvre|Dupré|Gagné|Côté|Bélanger|Brontë|Søndergaard|Østergaard|Åkesson|"
    "Lindström|Söderberg|Björk|Dvořák|Horváth|Kovačević|Wiśniewski|Łukasiewicz|"
    "Çelik|Öztürk|Yılmaz|van der Berg|de Vries|van Dijk|de la Cruz|da Silva|von Essen"
)
GIVEN_NAMES = _words(
    "James|Mary|John|Patricia|Robert|Jennifer|Michael|Linda|David|Elizabeth|William|"
    "Susan|Richard|Sarah|Thomas|Karen|Daniel|Emma|Matthew|Olivia|Andrew|Sophie|Mark|"
    "Hannah|Paul|Rachel|Peter|Laura|Aisha|Fatima|Mohammed|Omar|Priya|Ravi|Anjali|"
    "Chinedu|Ngozi|Kwame|Abena|Wanjiru|Thabo|Mei|Wei|Hiroshi|Yuki|Min-jun|Seo-yeon|"
    "Anna|Katarzyna|Piotr|Ivan|Elena|Giulia|Marco|Lucas|Beatriz|Siobhan|Ciaran|Niamh|"
    "Eilidh|Lars|Ingrid|Mikko|Aino|Klaus|Greta|José|María|Inés|Ramón|Sofía|Andrés|"
    "Hélène|Émile|François|Noémie|Zoë|Chloë|Björn|Åsa|Søren|Jürgen|Jörg|Łukasz|"
    "Jiří|Tomáš|Çağla|Gökhan|Renée|Thérèse"
)

# How the .bib writes accented letters in LaTeX (for a share of the records).
LATEX_ACCENTS = {
    "ä": '{\\"a}',
    "ö": '{\\"o}',
    "ü": '{\\"u}',
    "ë": '{\\"e}',
    "Ö": '{\\"O}',
    "Ü": '{\\"U}',
    "á": "{\\'a}",
    "é": "{\\'e}",
    "í": "{\\'i}",
    "ó": "{\\'o}",
    "ú": "{\\'u}",
    "ć": "{\\'c}",
    "ś": "{\\'s}",
    "É": "{\\'E}",
    "Á": "{\\'A}",
    "è": "{\\`e}",
    "ô": "{\\^o}",
    "ñ": "{\\~n}",
    "ç": "{\\c{c}}",
    "Ç": "{\\c{C}}",
    "ğ": "{\\u{g}}",
    "ř": "{\\v{r}}",
    "š": "{\\v{s}}",
    "č": "{\\v{c}}",
    "ı": "{\\i}",
    "ł": "{\\l}",
    "Ł": "{\\L}",
    "ø": "{\\o}",
    "Ø": "{\\O}",
    "å": "{\\aa}",
    "Å": "{\\AA}",
}

# Abstract sentences; slots are filled from the lists above.
BACKGROUND = (
    "{NP} is a growing concern for {pop} in {setting}.",
    "Little is known about how {np} affects {np2} among {pop}.",
    "Policy makers in {country} have invested in {np} but evidence of its effect on {np2} "
    "remains limited.",
    "Previous studies of {np} have focused on {pop} and rarely considered {setting}.",
    "There is increasing interest in {np} as a way to improve {np2} for {pop}.",
    "Despite widespread use, the relationship between {np} and {np2} is poorly understood.",
)
AIMS = (
    "This study examined the association between {np} and {np2} among {pop}.",
    "We aimed to evaluate {np} for {pop} in {setting}.",
    "The objective was to describe patterns of {np} and to identify factors associated with {np2}.",
    "We set out to assess whether {np} improved {np2} for {pop} in {country}.",
)
METHODS = (
    "We conducted {design} involving {n} {pop} recruited from {m} sites in {country}.",
    "Data were drawn from routine records of {n} {pop} between {y1} and {y2}.",
    "Semi-structured interviews were held with {m} practitioners and {m2} {pop}, and "
    "transcripts were analysed thematically.",
    "Outcomes were measured at baseline and after {m} months using validated instruments.",
    "Multilevel regression models were used to account for clustering within {setting}.",
    "We searched {m} databases and screened {n} records, of which {m2} studies met the "
    "inclusion criteria.",
    "Participants were randomly allocated to {np} or usual care.",
)
RESULTS = (
    "{NP} was associated with a {pct} per cent reduction in {np2}.",
    "Rates of {np} were higher among {pop} than in the general population.",
    "Participants described {np} as valuable but reported barriers relating to {np2}.",
    "There was no significant difference in {np} between groups after {m} months.",
    "Three themes were identified: {np}, {np2} and {np3}.",
    "Effects were larger in {setting} and among {pop}.",
    "The pooled estimate suggested a modest benefit for {np2}, with substantial "
    "heterogeneity between studies.",
    "Around {pct} per cent of {pop} reported difficulties with {np}.",
    "Costs per participant were lower for {np} than for usual care.",
)
CONCLUSIONS = (
    "{NP} may improve {np2} for {pop}, but further research is needed.",
    "These findings have implications for practice and policy in {setting}.",
    "Services should consider {np} alongside attention to {np2}.",
    "Larger trials with longer follow-up are required before {np} is adopted widely.",
    "Practitioners need training and support to address {np} in routine work.",
)


SECTIONS = (
    ("Background", BACKGROUND),
    ("Objectives", AIMS),
    ("Methods", METHODS),
    ("Results", RESULTS),
    ("Conclusions", CONCLUSIONS),
)
# Where extra sentences go when an abstract is still short: mostly methods and results.
GROW = (SECTIONS[0], SECTIONS[2], SECTIONS[2], SECTIONS[3], SECTIONS[3], SECTIONS[3], SECTIONS[4])
_SLOTS = {
    template: list(
        dict.fromkeys(name for _, name, _, _ in string.Formatter().parse(template) if name)
    )
    for _, sentences in SECTIONS
    for template in sentences
}


def _journals() -> list[tuple[str, int]]:
    """(name, first year of publication): volume numbers count from that year."""
    journals = []
    for i, field_name in enumerate(JOURNAL_FIELDS):
        for j, pattern in enumerate(JOURNAL_PATTERNS):
            if (i + j) % 2 == 0:
                journals.append((pattern.format(field_name), 1960 + (i * 7 + j * 5) % 35))
    return journals


JOURNALS = _journals()
# Authors per paper, 1-8, mostly 2-5: picking from this list weights the counts.
AUTHOR_COUNTS = (
    (1,) * 8 + (2,) * 18 + (3,) * 20 + (4,) * 18 + (5,) * 14 + (6,) * 10 + (7,) * 7 + (8,) * 5
)


# ---------------------------------------------------------------- generators
class Generator:
    """Draws synthetic records from one random stream.

    Draws go through ``random()`` rather than ``choice``/``randint``: several times
    faster, which matters at 50,000 records, and just as deterministic.
    """

    def __init__(self, rng: random.Random, size: int):
        self.rng = rng
        self.random = rng.random
        self.seen_titles: set[str] = set()
        # Abstracts are put together from pools of filled-in sentences, one pool per
        # section, a third as many sentences as records: filling a sentence costs
        # far more than picking one. A sentence recurs in a few abstracts at most.
        per_pool = max(300, size // 3)
        self.pools: dict[str, list[tuple[str, int, str]]] = {}
        for label, sentences in SECTIONS:
            pool = []
            for _ in range(per_pool):
                template = self.pick(sentences)
                sentence = self._fill(template)
                pool.append((sentence, sentence.count(" ") + 1, template))
            self.pools[label] = pool

    def pick(self, seq):
        return seq[int(self.random() * len(seq))]

    def randint(self, low: int, high: int) -> int:
        return low + int(self.random() * (high - low + 1))

    def noun_phrase(self) -> str:
        pick = self.pick
        roll = self.random()
        noun = pick(NOUNS)
        if roll < 0.3:
            return noun
        if roll < 0.95:
            return f"{pick(ADJECTIVES)} {noun}"
        return f"{pick(ADJECTIVES)} {pick(ADJECTIVES)} {noun}"

    def _title_once(self) -> str:
        pick, np = self.pick, self.noun_phrase
        template = int(self.random() * 9)
        if template == 0:
            title = (
                f"{pick(LEADS)} {np()} {pick(PREPOSITIONS)} {pick(POPULATIONS)}: {pick(DESIGNS)}"
            )
        elif template == 1:
            title = (
                f"{pick(LEADS)} {np()} and {np()} {pick(PREPOSITIONS)} {pick(POPULATIONS)}"
                f" in {pick(SETTINGS)}"
            )
        elif template == 2:
            title = f"{np()} and {np()} {pick(PREPOSITIONS)} {pick(POPULATIONS)}: {pick(DESIGNS)}"
        elif template == 3:
            title = (
                f"The relationship between {np()} and {np()} {pick(PREPOSITIONS)}"
                f" {pick(POPULATIONS)}"
            )
        elif template == 4:
            design = pick(DESIGNS)
            title = (
                f"Does {np()} improve {np()} {pick(PREPOSITIONS)} {pick(POPULATIONS)}?"
                f" {design[0].upper()}{design[1:]}"
            )
        elif template == 5:
            title = (
                f"{pick(LEADS)} {np()} {pick(PREPOSITIONS)} {pick(POPULATIONS)}"
                f" in {pick(SETTINGS)}: {pick(DESIGNS)}"
            )
        elif template == 6:
            title = f"{np()}, {np()} and {np()} in {pick(SETTINGS)}"
        elif template == 7:
            title = (
                f"{pick(LEADS)} {np()} {pick(PREPOSITIONS)} {pick(POPULATIONS)}:"
                f" evidence from {pick(COUNTRIES)}"
            )
        else:
            title = f"{np()} for {pick(POPULATIONS)} in {pick(COUNTRIES)}: {pick(DESIGNS)}"
        return title[0].upper() + title[1:]

    def title(self) -> str:
        """A distinct 8-15 word title (distinct after folding case and punctuation)."""
        while True:
            title = self._title_once()
            if not 8 <= title.count(" ") + 1 <= 15:
                continue
            folded = _fold(title)
            if folded not in self.seen_titles:
                self.seen_titles.add(folded)
                return title

    def author(self) -> tuple[str, str]:
        family = self.pick(FAMILY_NAMES)
        given = self.pick(GIVEN_NAMES)
        roll = self.random()
        if roll < 0.2:
            given = f"{given[0]}."
        elif roll < 0.3:
            given = f"{given} {self.pick(GIVEN_NAMES)[0]}."
        return family, given

    def abstract(self) -> str:
        """150-250 words (section labels included); no sentence pattern used twice."""
        target = self.randint(150, 250)
        structured = self.random() < 0.3
        pools = self.pools
        used: set[str] = set()
        body: dict[str, list[str]] = {}
        words = len(SECTIONS) if structured else 0
        for label, _ in SECTIONS:
            sentence, n, template = self.pick(pools[label])
            used.add(template)
            body[label] = [sentence]
            words += n
        # Sentences are at most about 30 words, so below 150 any sentence fits.
        for _ in range(500):  # in practice the target is reached in about ten rounds
            if words >= target:
                break
            label = self.pick(GROW)[0]
            sentence, n, template = self.pick(pools[label])
            if template in used:
                continue
            if words >= 150 and words + n > target:
                break
            used.add(template)
            body[label].append(sentence)
            words += n
        if structured:
            return " ".join(f"{label}: {' '.join(body[label])}" for label, _ in SECTIONS)
        return " ".join(" ".join(part) for part in body.values())

    def _fill(self, template: str) -> str:
        """The template with its slots filled (only the slots it has are drawn)."""
        pick, randint = self.pick, self.randint
        values: dict[str, object] = {}
        for slot in _SLOTS[template]:
            if slot in ("np", "np2", "np3"):
                values[slot] = self.noun_phrase()
            elif slot == "NP":
                phrase = self.noun_phrase()
                values[slot] = phrase[0].upper() + phrase[1:]
            elif slot == "pop":
                values[slot] = pick(POPULATIONS)
            elif slot == "setting":
                values[slot] = pick(SETTINGS)
            elif slot == "country":
                values[slot] = pick(COUNTRIES)
            elif slot == "design":
                values[slot] = pick(DESIGNS)
            elif slot == "n":
                values[slot] = f"{randint(24, 12000):,}"
            elif slot == "m":
                values[slot] = randint(3, 48)
            elif slot == "m2":
                values[slot] = randint(5, 60)
            elif slot == "pct":
                values[slot] = randint(4, 63)
            elif slot == "y1":
                values[slot] = randint(1990, 2018)
            elif slot == "y2":
                values[slot] = int(values["y1"]) + randint(2, 7)
        return template.format(**values)

    def keywords(self) -> list[str]:
        chosen: list[str] = []
        for _ in range(self.randint(3, 6)):
            keyword = self.pick(KEYWORDS)
            if keyword not in chosen:
                chosen.append(keyword)
        return chosen

    def base_record(self, number: int) -> dict:
        journal, first_year = self.pick(JOURNALS)
        year = self.randint(1995, 2025)
        start = self.randint(1, 2400)
        n_authors = self.pick(AUTHOR_COUNTS)
        return {
            "title": self.title(),
            "authors": [self.author() for _ in range(n_authors)],
            "year": year,
            "journal": journal,
            "volume": str(max(1, year - first_year)),
            "issue": str(self.randint(1, 12)),
            "pages": (str(start), str(start + self.randint(4, 30))),
            "doi": f"10.5555/bench.{number}" if self.random() < BASE_DOI_SHARE else None,
            "abstract": self.abstract(),
            "keywords": self.keywords(),
            "latex": self.random() < LATEX_SHARE,
        }


def _fold(title: str) -> str:
    return " ".join(re.findall(r"\w+", title.casefold()))


# ---------------------------------------------------------------- duplicates
def _typo(rng: random.Random, title: str) -> str:
    words = title.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    candidates = candidates or [i for i, w in enumerate(words) if len(w) >= 3]
    i = rng.choice(candidates)
    word = words[i]
    pos = rng.randrange(1, len(word) - 1)
    how = rng.randrange(3)
    if how == 0:  # substitute
        letter = rng.choice([c for c in "aeioulnrst" if c != word[pos]])
        word = word[:pos] + letter + word[pos + 1 :]
    elif how == 1:  # delete
        word = word[:pos] + word[pos + 1 :]
    else:  # swap with the next letter (never two equal letters)
        if word[pos] == word[pos + 1]:
            word = word[:pos] + word[pos + 1 :]
        else:
            word = word[:pos] + word[pos + 1] + word[pos] + word[pos + 2 :]
    words[i] = word
    return " ".join(words)


def _punctuation(rng: random.Random, title: str) -> str:
    options = []
    if ": " in title:
        options += [title.replace(": ", " - ", 1), title.replace(": ", ". ", 1)]
        options.append(title.replace(": ", " ", 1))
    if "?" in title:
        options.append(title.replace("?", "", 1))
    if ", " in title:
        options.append(title.replace(", ", " ", 1))
    if "-" in title:
        options.append(title.replace("-", " ", 1))
    return rng.choice(options)


def _has_punctuation(title: str) -> bool:
    return any(mark in title for mark in (": ", "?", ", ", "-"))


def title_variant(rng: random.Random, title: str) -> tuple[str, list[str]]:
    """The title with one or two small changes, and the names of the changes."""
    available = ["case", "typo", "trailing_period"]
    if _has_punctuation(title):
        available.append("punctuation")
    if " and " in title:
        available.append("ampersand")
    changes = rng.sample(available, rng.choice((1, 1, 2)))
    # Apply in a fixed order so that, say, the trailing period is really last.
    order = ("ampersand", "punctuation", "typo", "case", "trailing_period")
    changes.sort(key=order.index)
    done = []
    for change in changes:
        if change == "ampersand":
            title = title.replace(" and ", " & ")
            done.append("ampersand")
        elif change == "punctuation":
            title = _punctuation(rng, title)
            done.append("punctuation")
        elif change == "typo":
            title = _typo(rng, title)
            done.append("typo")
        elif change == "case":
            how = rng.choice(("lower", "upper", "title"))
            if how == "lower":
                title = title.lower()
            elif how == "upper":
                title = title.upper()
            else:  # Title Case, as some databases export it
                title = " ".join(w[:1].upper() + w[1:] for w in title.split(" "))
            done.append(f"case:{how}")
        else:
            title = title.rstrip(".") + "."
            done.append("trailing_period")
    return title, done


def doi_variant(rng: random.Random, doi: str) -> tuple[str, str]:
    how = rng.choice(("upper", "url", "url_upper"))
    if how == "upper":
        return doi.upper(), how
    if how == "url":
        return f"https://doi.org/{doi}", how
    return f"https://doi.org/{doi.upper()}", how


def build(size: int, seed: int = SEED) -> tuple[list[dict], dict]:
    """The records of one file in file order, each with its key, and the truth."""
    rng = random.Random(seed)
    gen = Generator(rng, size)
    n_dup = round(size * DUPLICATE_SHARE)
    n_base = size - n_dup
    if n_base < 3 or n_dup > n_base - 2:
        raise ValueError(f"size {size} is too small")

    base = [gen.base_record(i + 1) for i in range(n_base)]
    rng.shuffle(base)

    # Which base papers get a duplicate, and of what kind. An original must leave
    # room for at least one base paper between it and its duplicate.
    kinds = [KINDS[i % len(KINDS)] for i in range(n_dup)]
    rng.shuffle(kinds)
    positions = list(range(n_base - 2))
    rng.shuffle(positions)
    with_doi = [p for p in positions if base[p]["doi"]]
    without_doi = [p for p in positions if not base[p]["doi"]]
    need_doi = sum(k != "title_variant" for k in kinds)
    if need_doi > len(with_doi):
        raise ValueError(f"size {size}: not enough base papers with a DOI")
    doi_pool = iter(with_doi)
    used: set[int] = set()
    chosen: list[tuple[int, str]] = []
    for kind in kinds:
        if kind != "title_variant":
            p = next(doi_pool)
            used.add(p)
            chosen.append((p, kind))
    rest = [p for p in with_doi if p not in used] + without_doi
    rng.shuffle(rest)
    rest_pool = iter(rest)
    for kind in kinds:
        if kind == "title_variant":
            chosen.append((next(rest_pool), kind))

    # Make each duplicate and give it a slot: before base paper s, where s is at
    # least two after its original (s == n_base means at the end).
    slots: list[list[dict]] = [[] for _ in range(n_base + 1)]
    for p, kind in sorted(chosen):
        original = base[p]
        dup = dict(original, latex=rng.random() < LATEX_SHARE, original=p, kind=kind)
        if kind == "title_variant":
            dup["title"], dup["changes"] = title_variant(rng, original["title"])
            dup["doi"] = None
        elif kind == "doi_variant":
            dup["doi"], how = doi_variant(rng, original["doi"])
            dup["changes"] = [f"doi:{how}"]
        else:
            dup["changes"] = []
        slots[rng.randint(p + 2, n_base)].append(dup)

    records: list[dict] = []
    key_of_base: dict[int, str] = {}
    width = len(str(size))
    for s in range(n_base + 1):
        group = slots[s]
        rng.shuffle(group)
        if s < n_base:
            group = [*group, base[s]]
        for record in group:
            record["key"] = f"rec{len(records) + 1:0{width}d}"
            if "original" not in record:
                key_of_base[s] = record["key"]
            records.append(record)

    pairs = {}
    counts = dict.fromkeys(KINDS, 0)
    for record in records:
        if "original" in record:
            original_key = key_of_base[record["original"]]
            pairs[record["key"]] = {
                "original": original_key,
                "kind": record["kind"],
                "changes": record["changes"],
            }
            counts[record["kind"]] += 1
    truth = {
        "seed": seed,
        "size": size,
        "base_records": n_base,
        "duplicate_records": n_dup,
        "kinds": counts,
        "note": "duplicates: each duplicate's entry key -> its original's key, kind, changes",
        "duplicates": pairs,
    }
    return records, truth


# ---------------------------------------------------------------- writers
_BIB_SPECIAL = re.compile(r"[&%#_$]")
_LATEX_TABLE = str.maketrans(LATEX_ACCENTS)


def _escape(text: str) -> str:
    """Characters BibTeX/LaTeX would misread, backslash-escaped."""
    if "&" in text or "%" in text or "#" in text or "_" in text or "$" in text:
        return _BIB_SPECIAL.sub(lambda m: "\\" + m.group(0), text)
    return text


def _latex(text: str) -> str:
    return text.translate(_LATEX_TABLE)


def to_bibtex(record: dict) -> str:
    authors = " and ".join(f"{family}, {given}" for family, given in record["authors"])
    if record["latex"]:
        authors = _latex(authors)
    first, last = record["pages"]
    doi = f"  doi = {{{record['doi']}}},\n" if record["doi"] else ""
    return (
        f"@article{{{record['key']},\n"
        f"  author = {{{authors}}},\n"
        f"  title = {{{_escape(record['title'])}}},\n"
        f"  journal = {{{record['journal']}}},\n"
        f"  year = {{{record['year']}}},\n"
        f"  volume = {{{record['volume']}}},\n"
        f"  number = {{{record['issue']}}},\n"
        f"  pages = {{{first}--{last}}},\n"
        f"{doi}"
        f"  abstract = {{{_escape(record['abstract'])}}},\n"
        f"  keywords = {{{', '.join(record['keywords'])}}},\n"
        f"  note = {{{NOTE}}}\n"
        "}\n"
    )


def to_ris(record: dict) -> str:
    first, last = record["pages"]
    authors = "".join(f"AU  - {family}, {given}\n" for family, given in record["authors"])
    keywords = "".join(f"KW  - {keyword}\n" for keyword in record["keywords"])
    doi = f"DO  - {record['doi']}\n" if record["doi"] else ""
    return (
        "TY  - JOUR\n"
        f"ID  - {record['key']}\n"
        f"TI  - {record['title']}\n"
        f"{authors}"
        f"PY  - {record['year']}\n"
        f"T2  - {record['journal']}\n"
        f"VL  - {record['volume']}\n"
        f"IS  - {record['issue']}\n"
        f"SP  - {first}\n"
        f"EP  - {last}\n"
        f"{doi}"
        f"AB  - {record['abstract']}\n"
        f"{keywords}"
        f"N1  - {NOTE}\n"
        "ER  - \n"
    )


WRITERS = {"bib": to_bibtex, "ris": to_ris}


def write(out: Path, size: int, formats: list[str], seed: int = SEED) -> list[Path]:
    records, truth = build(size, seed)
    written = []
    for fmt in formats:
        path = out / f"records-{size}.{fmt}"
        writer = WRITERS[fmt]
        with path.open("w", encoding="utf-8", newline="\n") as f:
            f.write("\n".join(writer(record) for record in records))
        written.append(path)
    path = out / f"records-{size}.truth.json"
    with path.open("w", encoding="utf-8", newline="\n") as f:
        json.dump(truth, f, indent=1, ensure_ascii=False)
        f.write("\n")
    written.append(path)
    return written


def _int_list(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of whole numbers: {text!r}") from None
    if not sizes or any(size < 10 for size in sizes):
        raise argparse.ArgumentTypeError("sizes must be whole numbers of at least 10")
    return sizes


def _format_list(text: str) -> list[str]:
    formats = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [fmt for fmt in formats if fmt not in FORMATS]
    if not formats or unknown:
        raise argparse.ArgumentTypeError(f"formats are a comma-separated subset of {FORMATS}")
    return formats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("bench/data"), help="output folder")
    parser.add_argument(
        "--sizes",
        type=_int_list,
        default=list(DEFAULT_SIZES),
        help="comma-separated record counts (default: 2000,50000)",
    )
    parser.add_argument(
        "--formats",
        type=_format_list,
        default=list(FORMATS),
        help="comma-separated formats: bib, ris (default: both)",
    )
    parser.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED})")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for size in args.sizes:
        started = time.perf_counter()
        paths = write(args.out, size, args.formats, args.seed)
        elapsed = time.perf_counter() - started
        names = ", ".join(p.name for p in paths)
        print(f"{size} records in {elapsed:.1f}s: {names}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
