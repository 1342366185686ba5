"""IFEval constraint checks against hand-computed cases."""

import pytest

from tasks.evaluate import ifeval


@pytest.mark.parametrize("instruction, kwargs, reply, followed", [
    ("change_case:english_capital", {}, "HELLO WORLD.", True),
    ("change_case:english_capital", {}, "Hello WORLD", False),
    ("change_case:english_lowercase", {}, "hello world", True),
    ("startend:quotation", {}, '"wrapped"', True),
    ("startend:quotation", {}, '"half', False),
    ("startend:end_checker", {"end_phrase": "Is there anything else?"}, "Done. is there anything else?", True),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Say hi."}, '"Say hi." Hi!', True),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Say hi."}, "Hi!", False),
    ("detectable_format:title", {}, "<<My Title>>\ntext", True),
    ("detectable_format:title", {}, "<<  >> text", False),
    ("detectable_format:json_format", {}, '```json\n{"a": 1}\n```', True),
    ("detectable_format:json_format", {}, "{a: 1}", False),
    ("detectable_format:number_bullet_lists", {"num_bullets": 2}, "* one\n* two", True),
    ("detectable_format:number_bullet_lists", {"num_bullets": 3}, "- one\n- two", False),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "First.\n***\nSecond.", True),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "First.\n***\n***\nSecond.", False),
    ("length_constraints:number_sentences", {"num_sentences": 3, "relation": "less than"}, "One. Two.", True),
    ("length_constraints:number_sentences", {"num_sentences": 2, "relation": "at least"}, "One.", False),
    ("length_constraints:number_words", {"num_words": 3, "relation": "at least"}, "one two three", True),
    ("keywords:existence", {"keywords": ["cat", "dog"]}, "A Cat and a dog.", True),
    ("keywords:existence", {"keywords": ["cat", "dog"]}, "A cat.", False),
    ("keywords:forbidden_words", {"forbidden_words": ["bad"]}, "Badly done", True),
    ("keywords:forbidden_words", {"forbidden_words": ["bad"]}, "That is BAD.", False),
])
def test_checkers(instruction, kwargs, reply, followed):
    assert ifeval.follows(instruction, kwargs, reply) is followed


def test_empty_reply_follows_nothing():
    assert not ifeval.follows("change_case:english_lowercase", {}, "   ")


def test_unknown_instruction():
    with pytest.raises(ifeval.UnknownInstruction, match="no checker"):
        ifeval.follows("language:response_language", {}, "hi")


def test_rates():
    assert ifeval.instruction_rate([[True, False], [True]]) == pytest.approx(200 / 3)
    # Speech-IFEval's README: (89.23 - 92.53) / 92.53 = -3.57 %
    assert ifeval.forgetting_rate(89.23, 92.53) == pytest.approx(-3.566, abs=1e-3)
