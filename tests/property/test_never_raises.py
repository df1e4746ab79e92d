"""Property tests: no input, however broken, makes the parser or the analysis raise."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kdlens.analysis import analyze
from kdlens.parse import parse_bytes, parse_text

from helpers import FIXTURES, SHARED

SEED = (FIXTURES / "logs" / "seed-c4-62.log").read_text(encoding="utf-8")


def _corpus_samples() -> list[str]:
    corpus = SHARED / "corpus"
    if not corpus.exists():
        return [SEED]
    files = sorted(corpus.rglob("*.txt"))[:60] + sorted(corpus.rglob("*.log"))
    return [SEED] + [f.read_text(encoding="utf-8", errors="replace") for f in files]


SAMPLES = _corpus_samples()


def _check(text: str) -> None:
    session = parse_text(text)
    assert not session.faults, session.faults
    analyze(session)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_random_bytes(data: bytes) -> None:
    session, _ = parse_bytes(data)
    assert not session.faults, session.faults
    analyze(session)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SAMPLES), st.data())
def test_truncated_logs(sample: str, data: st.DataObject) -> None:
    cut = data.draw(st.integers(min_value=0, max_value=len(sample)))
    _check(sample[:cut])
    _check(sample[cut:])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(SAMPLES),
    st.lists(
        st.tuples(
            st.integers(min_value=0), st.integers(min_value=0, max_value=40), st.text(max_size=12)
        ),
        min_size=1,
        max_size=8,
    ),
)
def test_mutated_logs(sample: str, edits: list[tuple[int, int, str]]) -> None:
    text = sample
    for pos, length, insert in edits:
        if text:
            p = pos % len(text)
            text = text[:p] + insert + text[p + length :]
        else:
            text = insert
    _check(text)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SAMPLES), st.data())
def test_shuffled_lines(sample: str, data: st.DataObject) -> None:
    lines = sample.splitlines()
    if lines:
        perm = data.draw(st.permutations(lines))
        _check("\n".join(perm))


def test_samples_are_not_empty() -> None:
    assert SAMPLES and all(isinstance(s, str) for s in SAMPLES)
    assert Path(FIXTURES).exists()
