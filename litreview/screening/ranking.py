"""The relevance model: which records a review is most likely to include, from its decisions.

Plain numbers in, scores out: no database here (:mod:`.relevance` keeps the rankings,
:mod:`.simulation` replays labelled reviews with the same model).

The model
---------
Text: a record's title twice, then its abstract (keywords left out: half the exports
have none, and ranking must not favour the records of one database). The title says
what a paper is about in a dozen words; counted twice it weighs a little more against
a long abstract.

Features: TF-IDF of word unigrams and bigrams (scikit-learn's token pattern, lower
case, no stop-word list), sublinear term frequency, terms in more than 95% of the
records dropped, rows scaled to unit length. The term counts come from scikit-learn's
``HashingVectorizer`` (2**20 columns) rather than ``TfidfVectorizer``, and the IDF
weights are applied here: a record's counts do not depend on the other records, so
they are computed once per record and kept (:class:`Corpus`); a review that grows by
an import counts only its new records, and each retrain re-weighs in a few
milliseconds instead of re-reading 50,000 abstracts.

Classifier: a linear SVM (``LinearSVC``, squared hinge, C = 0.11) trained on the
records decided so far, with the relevant records weighted up so that together they
weigh ``RATIO`` (9.8) times the irrelevant ones, as ASReview LAB 2/3's default "ELAS
u4" does. The score is the SVM's decision value; ties (the same text) go by record id.

Retraining: after every decision while fewer than 100 are decided, then once the
decisions since the last training reach 1% of all (:data:`BATCH`, :func:`retrain_due`),
in the background (:mod:`.retraining`); a replay retrains the same way.

Why this one (``bench/bench_ranking.py --alternatives`` on the two labelled reviews of
../shared/fixtures/screening, Kitchenham 2010 (1,704 records, 45 relevant) and SYNERGY
Smid 2020 (2,627, 27), five seeds each, one relevant and one irrelevant prior, the
same priors for every model; mean WSS@95; 5 Dec 2026, figures in bench/RESULTS.md,
section "Prioritised screening"):

================================================  ==========  ======
model                                             Kitchenham  Smid
================================================  ==========  ======
ASReview LAB 3.0.8's default (ELAS u4)            0.674       0.830
this one (hashed counts, SVM, batches of 1%)      0.702       0.834
  retrained after every decision                  0.706       0.831
  batches of 2%                                   0.703       0.830
  batches of 5% (the batches before 5 Dec)        0.686       0.830
  TfidfVectorizer vocabulary instead of hashing   0.718       0.832
  English stop-word list                          0.560       0.860
  title counted once                              0.678       0.833
  naive Bayes, stop words (ASReview's ELAS u3)    0.523       0.861
  logistic regression (C=1, vocabulary)           0.710       0.829
================================================  ==========  ======

The choice, from these numbers:

* Batches of 1%: batches of 5% left WSS@95 below ASReview's on Smid (0.8298 against
  0.8299) and cost 0.016 on Kitchenham: early on, a batch is a run of records screened
  by a model that has not seen the last relevant ones. At 1% the ranking is within
  0.004 of retraining after every decision on both reviews, at a fraction of the
  trainings (a 50,000-record review retrains every 250 decisions at half screened).
* Hashing instead of a vocabulary: within the spread of the seeds (+0.016 and -0.002
  for the vocabulary), and it makes a record's counts its own, kept across retrains.
* No stop-word list: it costs 0.14 on Kitchenham and gains 0.026 on Smid. The issue's survey
  of seven labelled reviews found a cost of up to 0.13; the cost is the larger risk.
* Title twice: +0.025 on Kitchenham, +0.001 on Smid.
* The stopping test (:mod:`.stopping`) fired at recall 1.00 in every one of these
  replays, for a target of 0.95.

Naive Bayes (ELAS u3) fares like the stop-word list it comes with: best on Smid, far
worst on Kitchenham. Logistic regression gains 0.008 on Kitchenham, falls below
ASReview on Smid, and its replays took 8 to 15 times the SVM's CPU time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

# The model's settings (see the module docstring for why these).
C = 0.11
RATIO = 9.8  # relevant records together weigh RATIO times the irrelevant ones
NGRAMS = (1, 2)
MAX_DF = 0.95
N_FEATURES = 2**20
MODEL_NAME = "tfidf-svm"
# At most this many irrelevant records are trained on (all the relevant ones always, the
# irrelevant drawn at random): beyond a few thousand they add time, not ranking (on the
# labelled reviews, a cap of 250 changed WSS@95 by +0.016 and -0.001; no replay of them
# reaches 2,000 irrelevant records before its last relevant one, so 2,000 changes none
# of their figures), and together they weigh a tenth of the relevant ones anyway
# (RATIO). At 5,000 of 50,000 records screened, the fit takes 0.13 s of CPU with 2,000,
# 0.25 s with 4,000 (bench/bench_ranking.py's timing, Dec 2026).
MAX_IRRELEVANT = 2000
# Retrain once the decisions since the last training reach this share of all decisions
# (at least one): after every decision up to 100 decided, every 10 at 1,000 decided,
# every 250 at 25,000 (see the module docstring for why 1% and not 5%).
BATCH = 0.01


def retrain_due(since: int, decided: int, batch: float = BATCH) -> bool:
    """Whether ``since`` decisions made after the last training call for a new one, when
    ``decided`` records are decided in all (growing batches of ``batch``: see BATCH)."""
    return since >= max(1, math.ceil(batch * decided))


def text_of(title: str | None, abstract: str | None) -> str:
    """The text the model reads for a record: its title twice, then its abstract."""
    title = title or ""
    return f"{title} {title} {abstract or ''}".strip()


def _hasher():
    # Imported here: scikit-learn takes a second to import, and only ranking needs it.
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(
        ngram_range=NGRAMS,
        n_features=N_FEATURES,
        alternate_sign=False,
        norm=None,
        lowercase=True,
        dtype=np.float32,
    )


def count_terms(texts: Sequence[str]) -> sparse.csr_matrix:
    """Term counts of each text (one row each, counts above 255 kept as 255: the features
    take their logarithm): the part of the features kept per record."""
    if not texts:
        return sparse.csr_matrix((0, N_FEATURES), dtype=np.uint8)
    counts = _hasher().transform(texts).tocsr()
    counts.sum_duplicates()
    return sparse.csr_matrix(
        (np.minimum(counts.data, 255).astype(np.uint8), counts.indices, counts.indptr),
        shape=counts.shape,
    )


def weigh(counts: sparse.csr_matrix) -> sparse.csr_matrix:
    """TF-IDF rows from term counts, as ``TfidfVectorizer(sublinear_tf=True, max_df=MAX_DF)``
    computes them over this corpus: 1 + log(tf), smoothed IDF, rows of unit length.

    The rows share the counts' ``indices`` and ``indptr`` (a term dropped by MAX_DF stays
    as an explicit zero), so keeping both costs 5 bytes per term more than the counts.
    """
    n, width = counts.shape
    indices, indptr = counts.indices, counts.indptr
    df = np.bincount(indices, minlength=width)
    idf = (np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float32)
    idf[df > MAX_DF * n] = 0.0
    data = np.log(counts.data.astype(np.float32))
    data += 1.0
    data *= idf[indices]
    lengths = np.diff(indptr)
    norms = np.sqrt(np.bincount(np.repeat(np.arange(n), lengths), data * data, minlength=n))
    norms[norms == 0] = 1.0
    data /= np.repeat(norms.astype(np.float32), lengths)
    return sparse.csr_matrix((data, indices, indptr), shape=counts.shape, copy=False)


def sample_weights(labels: np.ndarray) -> np.ndarray:
    """Weights that make the relevant records weigh RATIO times the irrelevant ones
    together (mean weight 1), as ASReview's "balanced" sampler does."""
    relevant = labels == 1
    n_rel, n_irr = int(relevant.sum()), int((~relevant).sum())
    weights = np.where(relevant, 1.0, n_rel / (RATIO * n_irr) if n_irr else 1.0)
    return weights * (len(labels) / weights.sum())


def can_train(labels: Iterable[int]) -> bool:
    """Whether there is something to learn from: at least one relevant and one not."""
    seen = set(labels)
    return 0 in seen and 1 in seen


def fit_scores(
    features: sparse.csr_matrix,
    labelled: np.ndarray,
    labels: np.ndarray,
    candidates: np.ndarray,
    *,
    seed: int = 0,
) -> np.ndarray:
    """Train on the rows ``labelled`` (labels 1 relevant, 0 not) and score the rows
    ``candidates``: higher is more likely relevant."""
    from sklearn.svm import LinearSVC

    if not can_train(labels.tolist()):
        raise ValueError("the model needs at least one relevant and one irrelevant record")
    labelled, labels = _capped(labelled, labels, seed)
    # Trained on the columns the training rows use, not all 2**20: an L2-regularised
    # linear SVM's weights are a combination of its training rows, so every other
    # column's weight is zero anyway, and liblinear's time goes with the width (half
    # of a fit on a labelled review; the scores are the same to the last bit).
    rows = features[labelled]
    seen = np.zeros(features.shape[1], dtype=bool)
    seen[rows.indices] = True  # cheaper than np.unique's sort of every term of every row
    used = np.flatnonzero(seen)
    if not len(used):  # not a word in what was decided: one blank column to fit
        used = np.zeros(1, dtype=np.int64)
    column = np.zeros(features.shape[1], dtype=np.int32)
    column[used] = np.arange(len(used), dtype=np.int32)
    narrow = sparse.csr_matrix(
        (rows.data, column[rows.indices], rows.indptr), shape=(rows.shape[0], len(used))
    )
    model = LinearSVC(C=C, loss="squared_hinge", dual=True, random_state=seed)
    model.fit(narrow, labels, sample_weight=sample_weights(labels))
    if len(candidates) == 0:
        return np.zeros(0)
    # The decision values of every row, then the candidates': cheaper than copying the
    # candidates' rows out first (and than sklearn's decision_function, which would
    # convert them to float64).
    weights = np.zeros(features.shape[1], dtype=features.dtype)
    weights[used] = model.coef_.ravel()
    return (features @ weights)[np.asarray(candidates)] + model.intercept_[0]


def tfidf(texts: Sequence[str]) -> sparse.csr_matrix:
    """The features of these texts, weighed over them as one corpus."""
    return weigh(count_terms(texts))


@dataclass(frozen=True)
class Model:
    """A ranking model as replays use it: texts to features, then scores for candidates.

    The app uses :data:`DEFAULT`; bench/bench_ranking.py measures others against it.
    """

    name: str
    features: Callable[[Sequence[str]], sparse.csr_matrix]
    scores: Callable[..., np.ndarray]


DEFAULT = Model(MODEL_NAME, tfidf, fit_scores)


def _capped(labelled: np.ndarray, labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Every relevant record and at most MAX_IRRELEVANT irrelevant ones, drawn with ``seed``."""
    irrelevant = np.flatnonzero(labels == 0)
    if len(irrelevant) <= MAX_IRRELEVANT:
        return np.asarray(labelled), labels
    kept = np.random.default_rng(seed).choice(irrelevant, MAX_IRRELEVANT, replace=False)
    keep = np.sort(np.concatenate([np.flatnonzero(labels == 1), kept]))
    return np.asarray(labelled)[keep], labels[keep]


def order_by_score(scores: np.ndarray, tie_break: np.ndarray) -> np.ndarray:
    """Indices of ``scores`` from the highest; equal scores by ``tie_break`` ascending."""
    return np.lexsort((tie_break, -scores))


@dataclass
class Corpus:
    """Term counts of a set of records, kept by record id, with their TF-IDF rows.

    :meth:`update` counts only the records that are new or whose text changed; the
    TF-IDF rows are re-weighed when the set changed. Not thread-safe: hold it under a
    lock (:mod:`.relevance` does).
    """

    ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    stamps: dict[int, object] = field(default_factory=dict)
    counts: sparse.csr_matrix = field(default_factory=lambda: count_terms([]))
    features: sparse.csr_matrix | None = None
    row_of: dict[int, int] = field(default_factory=dict)
    # What the caller last brought it up to date with (see relevance._live_signature).
    signature: object = None

    def update(self, stamps: dict[int, object], texts_of) -> bool:
        """Bring the corpus to the records ``stamps`` (id -> a value that changes when the
        text does). ``texts_of(ids)`` gives the texts of the ids it is asked for, in that
        order. Returns whether anything changed."""
        keep = [i for i in self.ids.tolist() if stamps.get(i, None) == self.stamps.get(i)]
        keep_set = set(keep)
        fresh = sorted(i for i in stamps if i not in keep_set)
        if not fresh and len(keep) == len(self.ids) and self.features is not None:
            return False
        kept_rows = self.counts[[self.row_of[i] for i in keep]] if keep else None
        new_rows = count_terms(texts_of(fresh)) if fresh else None
        parts = [m for m in (kept_rows, new_rows) if m is not None]
        self.counts = sparse.vstack(parts, format="csr") if parts else count_terms([])
        self.ids = np.array(keep + fresh, dtype=np.int64)
        self.row_of = {i: n for n, i in enumerate(self.ids.tolist())}
        self.stamps = {i: stamps[i] for i in self.row_of}
        self.features = weigh(self.counts)
        return True

    def rows(self, ids: Iterable[int]) -> np.ndarray:
        """Row numbers of these record ids (each must be in the corpus)."""
        return np.array([self.row_of[i] for i in ids], dtype=np.int64)
