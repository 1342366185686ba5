"""The target gate: each deliberately broken generated row lands in quarantine under its check names,
malformed lines are quarantined by line number, dataset-level problems stop the gate."""

from __future__ import annotations

import codecs
import hashlib
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasks.rows import dumps_rows, read_rows
from tasks.validate.checks import GxRun
from tasks.params import load_params
from tasks.validate.generated import allowed_generators, parse_lines, run_generated_gate, validate_rows
from tasks.validate.outcome import DataQualityError
from tests.tasks.validate.gate_helpers import BACKBONE, LOCATOR, POOL, generated_params, generated_row, jsonl


def run_gate(lines, gx_run, generators=(BACKBONE,), **params):
    outcome, _ = validate_rows(lines, generated_params(**params), generators=generators, prompt_pool=POOL,
                               audio_locator=LOCATOR, gx_run=gx_run)
    return outcome


def quarantined_by_line(outcome) -> dict[int, set[str]]:
    return {outcome.label(p)["line"]: set(outcome.failed_checks(p)) for p in outcome.quarantined_positions}


def test_clean_rows_pass(gx_run):
    outcome = run_gate(jsonl([generated_row(n) for n in range(10)]), gx_run)
    assert outcome.passed, outcome.dataset_failures
    assert outcome.failures == {} and len(outcome.clean_positions) == 10


def test_each_broken_row_is_quarantined_under_exactly_its_checks(gx_run):
    user_without_locator = {"role": "user", "content": POOL[0].text,
                            "audios": [{"audio": "audio/speech.wav", "text": " "}]}
    broken = [
        ('{"id": "clip-9000", "response": ', {"json_object"}),
        ("[1, 2, 3]", {"json_object"}),
        (generated_row(9001, response=f"{LOCATOR} A woman speaks."), {"no_leaked_markers"}),
        (generated_row(9002, response="[00:00-00:02] the quick brown fox (Gender: Female)"), {"no_leaked_markers"}),
        (generated_row(9003, response=""), {"response_not_empty", "response_length"}),
        (generated_row(9004, response="x" * 5000), {"response_length"}),
        (generated_row(9005, response="I’m sorry, but I cannot listen to audio files."), {"no_refusal"}),
        (generated_row(9006, finish_reason="length", flags=["truncated"]), {"not_truncated", "no_generator_flags"}),
        (generated_row(9007, flags=["template_echo"]), {"no_generator_flags"}),
        (generated_row(9008, prompt_id="v0-unknown"), {"prompt_in_pool"}),
        (generated_row(9009, prompt="A prompt that is not the pool's text."), {"prompt_in_pool"}),
        (generated_row(9010, generator={"model": "someone/else", "foreign_override": False}),
         {"generator_allowed"}),
        (generated_row(9011, messages=[user_without_locator]), {"audio_count_matches"}),
        (generated_row(9012, messages=[{**user_without_locator, "content": f"{LOCATOR}\n{POOL[0].text}",
                                        "audios": [{"audio": "../../secret.wav", "text": " "}]}]),
         {"audio_path_inside_root"}),
        ({key: value for key, value in generated_row(9013).items() if key != "response"}, {"row_schema"}),
        (generated_row(9014, kind="noise"), {"row_schema"}),
    ]
    good = [generated_row(n) for n in range(20)]
    lines = jsonl(good[:10]) + ["", "   "]  # blank lines hold no row and are not counted
    lines += [row if isinstance(row, str) else json.dumps(row) for row, _ in broken] + jsonl(good[10:])
    lines += jsonl([generated_row(3)])  # a second row with id clip-0003

    outcome = run_gate(lines, gx_run)

    first_broken_line = 13
    expected = {first_broken_line + offset: checks for offset, (_, checks) in enumerate(broken)}
    expected |= {4: {"id_unique"}, len(lines): {"id_unique"}}
    assert quarantined_by_line(outcome) == expected
    assert outcome.total == len(lines) - 2
    clean_lines = {outcome.label(p)["line"] for p in outcome.clean_positions}
    assert clean_lines == set(range(1, 4)) | set(range(5, 11)) | set(range(29, 39))
    with pytest.raises(DataQualityError, match=r"18 of 37 rows .* above max_failed_fraction=0\.1"):
        outcome.raise_if_failed()


def test_a_row_claiming_the_override_is_not_believed(gx_run):
    foreign = {"model": "someone/else", "foreign_override": True}  # the row says it may; params say no
    outcome = run_gate(jsonl([generated_row(0, generator=foreign), generated_row(1)]), gx_run)
    assert quarantined_by_line(outcome) == {1: {"generator_allowed"}}
    assert outcome.failures[0][0]["detail"] == (
        "written by 'someone/else', not by " + repr(BACKBONE)
        + " (params decide: generate.allow_foreign_generator, generate.generator)")


def test_a_foreign_generator_passes_only_when_params_allow_it(gx_run):
    rows = jsonl([generated_row(0, generator={"model": "someone/else"}), generated_row(1)])
    assert run_gate(rows, gx_run, generators=[BACKBONE, "someone/else"]).failures == {}
    assert run_gate(rows, gx_run, generators=None).failures == {}  # allowed, no generator named: any served model


@pytest.mark.parametrize("generate, allowed", [
    ({}, [BACKBONE]),
    ({"generator": "someone/else", "allow_foreign_generator": True}, sorted([BACKBONE, "someone/else"])),
    ({"allow_foreign_generator": True}, None),
])
def test_allowed_generators_come_from_params(generate, allowed):
    params = load_params()
    params = params.model_copy(update={"generate": params.generate.model_copy(update=generate)})
    assert allowed_generators(params) == allowed


def test_refusal_and_leak_details_name_the_phrases(gx_run):
    outcome = run_gate(jsonl([generated_row(0, response="As an AI, I can't hear <|im_start|> audio.")]), gx_run)
    details = {failure["check"]: failure["detail"] for failure in outcome.failures[0]}
    assert details == {"no_refusal": "response contains 'as an ai', \"i can't hear\"",
                       "no_leaked_markers": "response contains '<|im_start|>'"}


def test_malformed_lines_keep_their_line_numbers_and_text():
    parsed = parse_lines(["", '{"id": 1}', "{oops", "\n", "42"])
    assert parsed.numbers == [2, 3, 5]
    assert parsed.parse_errors[0] is None and parsed.parse_errors[1].startswith("not valid JSON")
    assert parsed.parse_errors[2] == "not a JSON object (got int)"
    assert parsed.rows[1] == "{oops"


def test_undecodable_bytes_are_a_row_problem_with_their_line_and_a_bom_costs_nothing():
    good = json.dumps(generated_row(0)).encode()
    parsed = parse_lines([codecs.BOM_UTF8 + good + b"\n", b'{"id": "caf\xe9"}\n', b"\xff\xfe\n", b"\n",
                          json.dumps(generated_row(1)).replace("A woman", "\\ud800").encode() + b"\n"])
    assert parsed.numbers == [1, 2, 3, 5]
    assert parsed.parse_errors[0] is None and parsed.rows[0] == generated_row(0)
    assert parsed.parse_errors[1] == "not valid UTF-8: byte 0xe9 at byte 12 of the line"
    assert parsed.rows[1] == '{"id": "caf\\xe9"}'  # the bytes kept visible, as text a report can hold
    assert parsed.parse_errors[2] == "not valid UTF-8: byte 0xff at byte 1 of the line"
    assert parsed.parse_errors[3] == "not valid JSON: '\\ud800' is an unpaired surrogate, not text"


def test_run_generated_gate_quarantines_bad_bytes_by_line_and_keeps_a_bom_line(tmp_path):
    rows_file = tmp_path / "rows.jsonl"
    good = jsonl([generated_row(n) for n in range(12)])
    broken = good[3].encode().replace(b"A woman", b"A w\xf6man")  # a latin-1 byte in a UTF-8 file
    rows_file.write_bytes(codecs.BOM_UTF8 + b"\n".join([*(l.encode() for l in good[:3]), broken,
                                                       *(l.encode() for l in good[4:])]) + b"\n")
    params = generated_params(rows=str(rows_file), clean=str(tmp_path / "clean.jsonl"),
                              quarantine=str(tmp_path / "quarantine.jsonl"), report=str(tmp_path / "report"))
    with GxRun() as gx_run:
        outcome = run_generated_gate(params, generators=[BACKBONE], prompt_pool=POOL, audio_locator=LOCATOR,
                                     gx_run=gx_run)
    assert outcome.passed and outcome.total == 12
    records = [json.loads(line) for line in (tmp_path / "quarantine.jsonl").read_text().splitlines()]
    assert [(r["line"], [c["check"] for c in r["checks"]]) for r in records] == [(4, ["json_object"])]
    assert records[0]["checks"][0]["detail"].startswith("not valid UTF-8: byte 0xf6 at byte ")
    clean = [json.loads(line) for line in (tmp_path / "clean.jsonl").read_text().splitlines()]
    assert clean == [json.loads(line) for line in good[:3] + good[4:]]  # line 1 kept, no BOM


def test_empty_file_is_a_dataset_failure(gx_run):
    outcome = run_gate([], gx_run)
    assert any(message.startswith("not_empty") for message in outcome.dataset_failures)


def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_run_generated_gate_writes_clean_rows_with_the_rows_writer_and_keeps_the_input(tmp_path):
    rows_file = tmp_path / "rows.jsonl"
    rows = [generated_row(n) for n in range(12)]
    good = jsonl(rows)
    rows_file.write_text("\n".join(good[:5] + ["{not json"] + good[5:]) + "\n")
    before = _sha256(rows_file)
    params = generated_params(rows=str(rows_file), clean=str(tmp_path / "out" / "clean.jsonl"),
                              quarantine=str(tmp_path / "out" / "quarantine.jsonl"),
                              report=str(tmp_path / "out" / "report"))
    with GxRun() as gx_run:
        outcome = run_generated_gate(params, generators=[BACKBONE], prompt_pool=POOL, audio_locator=LOCATOR,
                                     gx_run=gx_run)
    assert outcome.passed and _sha256(rows_file) == before
    # The training input is written like every row file (one canonical line per row, atomically).
    assert (tmp_path / "out" / "clean.jsonl").read_text() == dumps_rows(rows)
    assert read_rows(str(tmp_path / "out" / "clean.jsonl")) == rows
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["clean.jsonl", "quarantine.jsonl", "report"]
    records = [json.loads(line) for line in (tmp_path / "out" / "quarantine.jsonl").read_text().splitlines()]
    assert len(records) == 1
    assert records[0]["line"] == 6 and records[0]["row"] == "{not json" and records[0]["id"] is None
    assert [check["check"] for check in records[0]["checks"]] == ["json_object"]
    assert (tmp_path / "out" / "report" / "index.html").is_file()


def test_run_generated_gate_stops_on_too_many_failures_without_clean_output(tmp_path):
    rows_file = tmp_path / "rows.jsonl"
    rows_file.write_text("\n".join(jsonl([generated_row(n, response="") for n in range(4)])) + "\n")
    params = generated_params(rows=str(rows_file), clean=str(tmp_path / "clean.jsonl"),
                              quarantine=str(tmp_path / "quarantine.jsonl"), report=str(tmp_path / "report"))
    with GxRun() as gx_run:
        outcome = run_generated_gate(params, generators=[BACKBONE], prompt_pool=POOL, audio_locator=LOCATOR,
                                     gx_run=gx_run)
    with pytest.raises(DataQualityError, match="response_not_empty .*4 rows, e.g. line=1, id=clip-0000"):
        outcome.raise_if_failed()
    assert not (tmp_path / "clean.jsonl").exists()
    assert len((tmp_path / "quarantine.jsonl").read_text().splitlines()) == 4


def test_missing_rows_file_names_the_stage_to_run(tmp_path):
    params = generated_params(rows=str(tmp_path / "absent.jsonl"))
    with pytest.raises(FileNotFoundError, match="run the generate stage"):
        run_generated_gate(params, generators=[BACKBONE], prompt_pool=POOL, audio_locator=LOCATOR, gx_run=None)


# ------------------------------------------------------------------------------------ property-based
ROW_KEYS = sorted(generated_row(0))
odd_values = st.one_of(st.none(), st.integers(), st.floats(), st.text(max_size=12), st.lists(st.integers(), max_size=2),
                       st.sampled_from(["", "length", LOCATOR, "I'm sorry", "../x.wav", "clip-0001"]))
line_edit = st.one_of(
    st.tuples(st.just("set"), st.sampled_from(ROW_KEYS), odd_values),
    st.tuples(st.just("drop"), st.sampled_from(ROW_KEYS)),
    st.tuples(st.just("cut"), st.integers(1, 400)),  # a line cut short: not JSON any more
    st.tuples(st.just("text"), st.text(max_size=20)),
    # Bytes that are not UTF-8 (or are), spliced into the encoded line; a BOM before it.
    st.tuples(st.just("bytes"), st.integers(0, 400), st.binary(min_size=1, max_size=4).filter(
        lambda blob: b"\n" not in blob and b"\r" not in blob)),
    st.tuples(st.just("bom")),
)


def edited_line(number: int, edits) -> bytes:
    """The line as the file holds it (edits in order: later ones see earlier ones' result)."""
    row = generated_row(number)
    text, splices, bom = None, [], False
    for edit in edits:
        if edit[0] == "set":
            row[edit[1]] = edit[2]
        elif edit[0] == "drop":
            row.pop(edit[1], None)
        elif edit[0] == "cut":
            text = json.dumps(row)[: edit[1]]
        elif edit[0] == "text":
            text = edit[1]
        elif edit[0] == "bytes":
            splices.append(edit[1:])
        else:
            bom = True
    line = (text if text is not None else json.dumps(row)).encode("utf-8", "surrogatepass")
    for position, blob in splices:
        line = line[:position] + blob + line[position:]
    return (codecs.BOM_UTF8 if bom else b"") + line


def holds_a_row(number: int, line: bytes) -> bool:
    """Everything but a blank line is a row; a BOM counts as nothing on line 1 only."""
    try:
        text = (line.removeprefix(codecs.BOM_UTF8) if number == 1 else line).decode("utf-8")
    except UnicodeDecodeError:
        return True
    return bool(text.strip())


@pytest.mark.slow
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(st.lists(line_edit, max_size=3), min_size=1, max_size=8))
def test_random_row_corruption_never_crashes_and_never_loses_a_line(edits, gx_run):
    lines = [edited_line(number, row_edits) + b"\n" for number, row_edits in enumerate(edits)]
    outcome, parsed = validate_rows(lines, generated_params(), generators=[BACKBONE], prompt_pool=POOL,
                                    audio_locator=LOCATOR, gx_run=gx_run)
    kept = [number for number, line in enumerate(lines, start=1) if holds_a_row(number, line)]
    assert parsed.numbers == kept and outcome.total == len(kept)
    clean, quarantined = set(outcome.clean_positions), set(outcome.quarantined_positions)
    assert clean | quarantined == set(range(outcome.total)) and not clean & quarantined
    for record in outcome.quarantine_records(parsed.rows):
        assert record["checks"] and json.loads(json.dumps(record, allow_nan=False)) == record
        json.dumps(record, ensure_ascii=False).encode("utf-8")  # storable as UTF-8: no lone surrogates
