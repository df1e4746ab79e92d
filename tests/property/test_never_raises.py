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


#: Digit runs from short to far past Python's 4,300-digit int-conversion limit.
_DIGIT_RUNS = st.one_of(
    st.text(alphabet="0123456789", min_size=1, max_size=40),
    st.builds(lambda d, n: d * n, st.sampled_from("0123456789"), st.integers(4200, 6000)),
)
_HEX_RUNS = st.one_of(
    st.text(alphabet="0123456789abcdefABCDEF`", min_size=1, max_size=40),
    st.builds(lambda d, n: d * n, st.sampled_from("09afF`"), st.integers(17, 6000)),
)
#: Edit texts: short random text, or a long run of digits.
_INSERTS = st.one_of(st.text(max_size=12), _DIGIT_RUNS, _HEX_RUNS)


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
        st.tuples(st.integers(min_value=0), st.integers(min_value=0, max_value=40), _INSERTS),
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


# --------------------------------------------------------------------------- long numbers in number positions

_BANNER = (
    "*" * 79
    + "\n*"
    + " " * 77
    + "*\n*"
    + "Bugcheck Analysis".center(77)
    + "*\n*"
    + " " * 77
    + "*\n"
    + "*" * 79
    + "\n\n"
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_DIGIT_RUNS, _HEX_RUNS)
def test_ln_long_numbers(dec: str, hexrun: str) -> None:
    text = (
        "kd> ln 8c1d2e3f\n"
        f"e:\\work\\drv\\file.c({dec})+0x{hexrun}\n"
        "(8c1d2e00)   drv!HandleIoctl+0x3f   |  (8c1d2f10)   drv!CompleteRequest\n"
        f"({hexrun})   drv!Other+0x{hexrun}\n"
    )
    session = parse_text(text)
    assert not session.faults, session.faults
    assert session.ln_results
    assert session.ln_results[0].before is not None
    assert session.ln_results[0].before.symbol.qualified == "drv!HandleIoctl"
    analyze(session)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_DIGIT_RUNS, min_size=4, max_size=4), st.integers(0, 3))
def test_poolused_long_counts(numbers: list[str], column: int) -> None:
    row = ["7", "700", "0", "0"]
    row[column] = numbers[column]
    text = (
        "1: kd> !poolused\n"
        "   Sorting by  Tag\n"
        "\n"
        "            NonPaged            Paged\n"
        " Tag    Allocs     Used    Allocs     Used\n"
        " Bq01        2      640         0        0first\n"
        f" Abcd {row[0]:>9} {row[1]:>8} {row[2]:>9} {row[3]:>8}odd\n"
        " usb3        1      112         0        0last\n"
    )
    session = parse_text(text)
    assert not session.faults, session.faults
    tags = [r.tag for r in session.pool_usage]
    assert tags[0] == "Bq01" and tags[-1] == "usb3"
    analyze(session)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_DIGIT_RUNS, _HEX_RUNS, st.integers(1, 4))
def test_bugcheck_fields_long_numbers(dec: str, hexrun: str, n: int) -> None:
    fields = {k: f"BUGCHECK_P{k}: {k}" for k in range(1, 5)}
    fields[n] = f"BUGCHECK_P{n}: 0n{dec}" if n % 2 else f"BUGCHECK_P{n}: {hexrun}"
    text = (
        _BANNER
        + "Debugging Details:\n------------------\n\nBUGCHECK_CODE:  c4\n\n"
        + "\n\n".join(fields[k] for k in range(1, 5))
        + f"\n\nFAULTING_IP: drv+{hexrun}\n"
    )
    session = parse_text(text)
    assert not session.faults, session.faults
    (bc,) = session.bugchecks
    assert bc.code == 0xC4
    assert {a.index for a in bc.args} >= {k for k in range(1, 5) if k != n}
    analyze(session)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_DIGIT_RUNS, _HEX_RUNS)
def test_prompts_stacks_umdh_pool_log_long_numbers(dec: str, hexrun: str) -> None:
    text = (
        f"{dec}: kd> r\n"
        f"0:{dec}> r\n"
        "0: kd> kn\n"
        " # Child-SP          RetAddr           Call Site\n"
        f"00 fffff801`3c2a1000 fffff801`3c2a2000 nt!KeBugCheckEx+0x{hexrun} [d:\\a.c @ {dec}]\n"
        "01 fffff801`3c2a1008 fffff801`3c2a3000 drv!Leak+0x20\n"
        "0: kd> !verifier 80\n"
        f"Pool block {hexrun}, Size {hexrun}, Thread {hexrun}\n"
        "81b250cd nt!IovAllocateMdl+0x3d\n"
        "\n"
        "Pool block 8d1e2f40, Size 00000048, Thread 9a0b1c20\n"
        "81b250cd nt!IovAllocateMdl+0x3d\n"
        "0: kd> .shell umdh\n"
        f"+ {dec} ( {dec} - 0) {dec} allocs BackTrace00B53\n"
        "\n"
        f"\tntdll!RtlAllocateHeap+{hexrun} (d:\\a.c, {dec})\n"
    )
    session = parse_text(text)
    assert not session.faults, session.faults
    assert len(session.stacks) == 1 and len(session.stacks[0].frames) == 2
    assert any(r.address.value == 0x8D1E2F40 for r in session.pool_log)
    assert len(session.umdh) == 1
    analyze(session)
