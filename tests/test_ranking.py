"""Prioritised screening in the database: rankings per learner, the order of the queue,
retraining in growing batches, two retrains at once, and what the page shows."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from litreview import screening
from litreview.db import make_session_factory
from litreview.library import reviews
from litreview.models import RankedRecord, Ranking, Record, utcnow
from litreview.screening import prioritised, relevance
from litreview.screening.retraining import Retrainer
from tests.test_screening import TA, make_team

# Two topics a reviewer tells apart by their words.
ON_TOPIC = "machine learning risk assessment in child welfare social work decisions"
OFF_TOPIC = "soil chemistry and crop yield under nitrogen fertiliser field trials"


def add(session: Session, review, texts: list[tuple[str, str]]) -> list[int]:
    rows = [Record(review_id=review.id, title=t, abstract=a) for t, a in texts]
    session.add_all(rows)
    session.commit()
    return [r.id for r in rows]


def topical(session: Session, review, on: int, off: int) -> tuple[list[int], list[int]]:
    """``on`` records about the review's topic and ``off`` not, interleaved by id."""
    texts = []
    for n in range(max(on, off)):
        if n < off:
            texts.append((f"Field study {n}", f"{OFF_TOPIC}, plot {n}"))
        if n < on:
            texts.append((f"Study {n} of algorithms", f"{ON_TOPIC}, case {n}"))
    ids = add(session, review, texts)
    on_ids = [i for i, (t, _a) in zip(ids, texts, strict=True) if t.startswith("Study")]
    return on_ids, [i for i in ids if i not in on_ids]


def train(engine, review, learner: int = 0, stage: str = TA):
    return relevance.retrain(make_session_factory(engine), review.id, stage, learner)


def order_of(session: Session, ranking_id: int) -> list[int]:
    return list(
        session.scalars(
            sa.select(RankedRecord.record_id)
            .where(RankedRecord.ranking_id == ranking_id)
            .order_by(RankedRecord.position)
        )
    )


def test_single_mode_ranks_once_there_is_an_include_and_an_exclude(session, engine):
    team = make_team(session, records=0)
    on, off = topical(session, team.review, on=6, off=20)
    ann = team.ann
    # Nothing to learn from yet: id order, and no ranking is stored.
    assert screening.next_record(session, team.review, ann, TA).id == min(on + off)
    screening.decide(session, team.review, on[0], ann, TA, "include")
    session.commit()
    assert train(engine, team.review) is None
    screening.decide(session, team.review, off[0], ann, TA, "exclude")
    session.commit()
    done = train(engine, team.review)
    assert done is not None and done.labels == 2 and done.ranked == 24
    # Most relevant first: the five other on-topic records, then the rest.
    ranked = order_of(session, done.ranking_id)
    assert set(ranked[:5]) == set(on[1:])
    picked = screening.next_record(session, team.review, team.ben, TA)
    assert picked.id == ranked[0]
    # "In order" stays a choice: the review's, or one person's.
    assert screening.next_record(session, team.review, ann, TA, order="id").id == min(
        set(on + off) - {on[0], off[0]}
    )
    reviews.update_settings(session, team.review, actor="lead", screening_order="id")
    session.commit()
    assert screening.next_record(session, team.review, ann, TA).id == min(
        set(on + off) - {on[0], off[0]}
    )
    assert screening.next_record(session, team.review, ann, TA, order="relevance").id == ranked[0]


def test_the_queue_follows_the_stored_ranking_then_new_records_after_and_skips(session, engine):
    team = make_team(session, records=0)
    on, off = topical(session, team.review, on=4, off=8)
    for record_id, decision in ((on[0], "include"), (off[0], "exclude")):
        screening.decide(session, team.review, record_id, team.ann, TA, decision)
    session.commit()
    ranking_id = train(engine, team.review).ranking_id
    ranked = order_of(session, ranking_id)
    nxt = screening.next_record
    rv, ann = team.review, team.ann
    assert nxt(session, rv, ann, TA).id == ranked[0]
    # "Next" without deciding goes down the ranking; skipped records are left out.
    assert nxt(session, rv, ann, TA, after_id=ranked[0]).id == ranked[1]
    assert nxt(session, rv, ann, TA, skip_ids=[ranked[0], ranked[1]]).id == ranked[2]
    # Deciding one: the next is the most relevant left (the ranking is not retrained yet).
    screening.decide(session, rv, ranked[0], ann, TA, "include")
    session.commit()
    assert nxt(session, rv, ann, TA, after_id=ranked[0]).id == ranked[1]
    # Records imported since the ranking come after every ranked one, in id order.
    new = add(session, rv, [(f"New {n}", ON_TOPIC) for n in range(2)])
    for record_id in ranked[1:]:
        screening.decide(session, rv, record_id, ann, TA, "exclude")
    session.commit()
    assert nxt(session, rv, ann, TA).id == new[0]
    assert nxt(session, rv, ann, TA, after_id=new[0]).id == new[1]
    assert nxt(session, rv, ann, TA, after_id=new[1]) is None
    # Retraining ranks them (new records make a retrain due at once).
    assert relevance.due(session, rv, TA, 0)
    assert set(order_of(session, train(engine, rv).ranking_id)) == set(new)


def test_blind_dual_rankings_do_not_learn_from_another_reviewers_pending_decisions(session, engine):
    team = make_team(session, records=0, mode="dual")
    rv = team.review
    on, off = topical(session, rv, on=6, off=14)
    ann, ben = team.ann, team.ben
    screening.decide(session, rv, on[0], ann, TA, "include")
    screening.decide(session, rv, off[0], ann, TA, "exclude")
    session.commit()
    before = train(engine, rv, learner=ann.id)
    ann_before = order_of(session, before.ranking_id)
    # Ben decides records Ann has not seen, against the topic: pending, blind to Ann.
    for record_id in on[1:4]:
        screening.decide(session, rv, record_id, ben, TA, "exclude")
    for record_id in off[1:4]:
        screening.decide(session, rv, record_id, ben, TA, "include")
    session.commit()
    assert relevance.due(session, rv, TA, ann.id)  # six decisions since: due ...
    after = train(engine, rv, learner=ann.id)  # ... but nothing she may learn from changed
    assert after.labels == 2
    assert order_of(session, after.ranking_id) == ann_before
    assert screening.visibility.decisions_to_learn_from(session, rv, TA, ann.id) == {
        on[0]: "include",
        off[0]: "exclude",
    }
    # Ben's own ranking learns from his decisions, not from Ann's.
    ben_labels = screening.visibility.decisions_to_learn_from(session, rv, TA, ben.id)
    assert set(ben_labels) == set(on[1:4] + off[1:4])
    ben_ranking = train(engine, rv, learner=ben.id)
    assert set(order_of(session, ben_ranking.ranking_id)[:3]) <= set(off)
    # Once Ann decides one of Ben's records too, it is settled and both may learn from it.
    screening.decide(session, rv, on[1], ann, TA, "exclude")
    session.commit()
    assert screening.visibility.decisions_to_learn_from(session, rv, TA, ann.id)[on[1]] == (
        "exclude"
    )
    # What each has screened, in order, as the stopping test sees it: their own.
    assert prioritised.screened_in_order(session, rv, TA, ann.id).tolist() == [1, 0, 0]
    assert prioritised.screened_in_order(session, rv, TA, ben.id).tolist() == [0] * 3 + [1] * 3
    # A record withdrawn from the library since is not one of those screened.
    session.get(Record, off[0]).withdrawn_at = utcnow()
    session.flush()
    assert prioritised.screened_in_order(session, rv, TA, ann.id).tolist() == [1, 0]
    session.get(Record, off[0]).withdrawn_at = None
    session.flush()
    # Each reviewer has their own ranking; single-mode's shared one is not made.
    learners = set(session.scalars(sa.select(Ranking.learner).where(Ranking.review_id == rv.id)))
    assert learners == {ann.id, ben.id}


def test_retraining_comes_in_growing_batches(session, engine):
    team = make_team(session, records=0)
    rv = team.review
    on, off = topical(session, rv, on=30, off=200)
    labelled = on[:10] + off[:90]
    for n, record_id in enumerate(labelled):
        decision = "include" if record_id in on else "exclude"
        screening.decide(
            session, rv, record_id, team.users["ann" if n % 2 else "ben"], TA, decision
        )
    session.commit()
    first = train(engine, rv)
    assert first.labels == 100
    assert train(engine, rv) is None  # nothing changed
    # Up to 100 decisions, every one makes a retrain due.
    screening.decide(session, rv, on[10], team.ann, TA, "include")
    session.commit()
    assert relevance.due(session, rv, TA, 0)
    assert train(engine, rv).labels == 101
    # 1% of 101 decisions is 2 (rounded up): one decision is not enough, two are.
    screening.decide(session, rv, off[90], team.ann, TA, "exclude")
    session.commit()
    assert not relevance.due(session, rv, TA, 0) and train(engine, rv) is None
    screening.decide(session, rv, off[91], team.ann, TA, "exclude")
    session.commit()
    assert relevance.due(session, rv, TA, 0)
    assert train(engine, rv).labels == 103


def test_undoing_back_to_one_kind_of_decision_drops_the_ranking(session, engine):
    team = make_team(session, records=0)
    rv = team.review
    on, off = topical(session, rv, on=3, off=6)
    screening.decide(session, rv, on[0], team.ann, TA, "include")
    screening.decide(session, rv, off[0], team.ann, TA, "exclude")
    session.commit()
    assert train(engine, rv) is not None
    screening.undo_last(session, rv, team.ann, TA)
    session.commit()
    assert relevance.due(session, rv, TA, 0)
    assert train(engine, rv) is None
    assert relevance.stored(session, rv.id, TA, 0) is None
    # The exclusion was undone: its record, the first by id, is next again.
    assert screening.next_record(session, rv, team.ann, TA).id == off[0] == min(on + off)


@pytest.mark.parametrize("attempts", [2])
def test_two_retrains_of_one_ranking_at_once_give_one_result(session, engine, attempts):
    team = make_team(session, records=0)
    rv = team.review
    on, off = topical(session, rv, on=10, off=40)
    for record_id, decision in ((on[0], "include"), (off[0], "exclude")):
        screening.decide(session, rv, record_id, team.ann, TA, decision)
    session.commit()
    factory = make_session_factory(engine)
    results, errors = [], []
    start = threading.Barrier(attempts)

    def run() -> None:
        try:
            start.wait()
            results.append(relevance.retrain(factory, rv.id, TA, 0))
        except Exception as exc:  # noqa: BLE001 - the test reports it
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(attempts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    stored = [r for r in results if r is not None]
    assert len(stored) >= 1
    session.expire_all()
    rankings = session.scalars(sa.select(Ranking).where(Ranking.review_id == rv.id)).all()
    assert len(rankings) == 1
    rows = order_of(session, rankings[0].id)
    assert len(rows) == len(set(rows)) == 48 == rankings[0].ranked


def test_the_retrainer_runs_what_is_asked_in_the_background_once(session, engine):
    asked = []
    started, go_on = threading.Event(), threading.Event()

    def run(_factory, *key):
        asked.append(key)
        started.set()
        go_on.wait(10)
        if key[1] == "boom":
            raise RuntimeError("a failing retrain is logged; the thread goes on")

    retrainer = Retrainer(make_session_factory(engine), run=run)
    try:
        retrainer.request(1, "boom", 0)
        assert started.wait(10)  # running: what is asked now waits for the next pass
        for _ in range(3):
            retrainer.request(1, TA, 0)  # the same ranking three times: trained once
        retrainer.request(2, TA, 7)
        go_on.set()
        assert retrainer.wait_idle(10)
    finally:
        retrainer.stop(10)
    assert asked == [(1, "boom", 0), (1, TA, 0), (2, TA, 7)]


def test_the_page_shows_relevance_and_stopping_progress(session, engine):
    team = make_team(session, records=0)
    rv = team.review
    on, off = topical(session, rv, on=5, off=30)
    panel = prioritised.panel(session, rv, team.ann, TA, on[0], None)
    assert (panel.order, panel.ranked, panel.relevance, panel.progress.test) == (
        "relevance",
        False,
        None,
        None,
    )
    for record_id, decision in ((on[0], "include"), (off[0], "exclude"), (off[1], "exclude")):
        screening.decide(session, rv, record_id, team.ann, TA, decision)
    # Ben decides one of them again (single mode: it counts once, where first decided,
    # with its outcome), and a merged-away record does not count.
    screening.decide(session, rv, off[0], team.ben, TA, "exclude")
    session.get(Record, off[1]).merged_into_id = off[2]
    session.commit()
    assert prioritised.screened_in_order(session, rv, TA, 0).tolist() == [1, 0]
    session.get(Record, off[1]).merged_into_id = None
    session.commit()
    train(engine, rv)
    top = screening.next_record(session, rv, team.ann, TA)
    panel = prioritised.panel(session, rv, team.ann, TA, top.id, None)
    assert panel.ranked and (panel.relevance.position, panel.relevance.ranked) == (1, 32)
    assert panel.relevance.percentile == 97  # ranked above 31 of the 32 left
    assert panel.relevance.top == 4  # 1 of 32: in the top 3.1%, shown as "top 4%"
    progress = panel.progress
    assert (progress.screened, progress.relevant, progress.since_relevant, progress.total) == (
        3,
        1,
        2,
        35,
    )
    assert progress.test is not None and not progress.test.stop and progress.hint is None
    # Records imported since the ranking count among those to screen at once (the test
    # would fire too early otherwise), before the next training ranks them.
    add(session, rv, [(f"New {n}", ON_TOPIC) for n in range(3)])
    assert prioritised.stopping_progress(session, rv, team.ann, TA).total == 38
    train(engine, rv)
    assert prioritised.stopping_progress(session, rv, team.ann, TA).total == 38


def test_the_features_are_tfidf_as_scikit_learn_computes_them():
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

    from litreview.screening import ranking

    # "the" is in every text: more than 95% of them, so TfidfVectorizer drops it.
    texts = [
        "Machine learning for the risk in child welfare",
        "the machine learning, machine learning and more machine learning",
        "Soil chemistry of the field: the field trials",
        "the the the the of of of",
        "The end",
    ]
    tfidf = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, max_df=0.95)
    expected = tfidf.fit_transform(texts).toarray()
    # The same counts through a vocabulary instead of the hasher, weighed by ranking.weigh.
    vocabulary = CountVectorizer(ngram_range=(1, 2)).fit(texts).vocabulary_
    counts = CountVectorizer(ngram_range=(1, 2), vocabulary=vocabulary).transform(texts)
    got = ranking.weigh(counts.tocsr()).toarray()
    kept = [vocabulary[term] for term in tfidf.get_feature_names_out()]
    np.testing.assert_allclose(got[:, kept], expected, rtol=1e-5, atol=1e-7)
    dropped = sorted(set(vocabulary.values()) - set(kept))
    assert dropped == [vocabulary["the"]] and not got[:, dropped].any()
    assert not ranking.weigh(CountVectorizer().fit_transform(["", "a word"]).tocsr())[0].nnz
    # The hashed counts give the same rows, up to where the columns are.
    hashed = ranking.tfidf(texts)
    assert hashed.shape == (5, ranking.N_FEATURES)
    np.testing.assert_allclose(
        np.sort(hashed.toarray(), axis=1)[:, -20:], np.sort(got, axis=1)[:, -20:], rtol=1e-5
    )
