"""Scoring rules against hand-computed cases."""

import random

import pytest

from tasks.evaluate import scoring


class TestMMAUMatch:
    choices = ["A man", "A woman", "A child", "A man and a woman"]

    def test_exact_answer(self):
        assert scoring.mmau_match("A woman", "A woman", self.choices)

    def test_case_and_punctuation_do_not_matter(self):
        assert scoring.mmau_match("A woman", '"a WOMAN".', self.choices)

    def test_words_shared_with_the_answer_are_not_held_against_it(self):
        # "a" is in every choice, so it is not a wrong-only word; "woman" is the answer's own word.
        assert scoring.mmau_match("A woman", "It is a woman speaking", self.choices)

    def test_a_word_of_a_wrong_choice_makes_it_wrong(self):
        # "and" and "man" belong only to wrong choices.
        assert not scoring.mmau_match("A woman", "a man and a woman", self.choices)
        assert not scoring.mmau_match("A woman", "A woman or a child", self.choices)

    def test_answer_words_must_all_be_present(self):
        assert not scoring.mmau_match("A man and a woman", "a woman", self.choices)
        assert scoring.mmau_match("A man and a woman", "a man and a woman", self.choices)

    def test_empty_prediction_is_wrong(self):
        assert not scoring.mmau_match("A woman", "", self.choices)
        assert not scoring.mmau_match("A woman", '"".', self.choices)

    def test_choice_with_the_same_words_as_the_answer_is_not_wrong(self):
        assert scoring.mmau_match("man, woman", "woman man", ["Woman man", "child"])

    def test_prefix_stripping(self):
        assert scoring.strip_answer_prefix('The correct answer is: "Dog".', "The correct answer is: ") == '"Dog".'
        assert scoring.strip_answer_prefix("  Dog ", "") == "Dog"


def test_exact_match_normalises_case_punctuation_and_spaces():
    assert scoring.exact_match("Happy", " happy. ")
    assert scoring.exact_match("speaker_change", "Speaker change")
    assert not scoring.exact_match("happy", "unhappy")
    assert not scoring.exact_match("", "")


@pytest.mark.parametrize("reply, letter", [
    ("The answer is (B).", "B"), ("b", "B"), ("C. Paris", "C"), ("I would choose option d", "D"),
    ("(a) dog", "A"), ("I have no idea", None),
])
def test_answer_letter(reply, letter):
    assert scoring.answer_letter(reply) == letter


def test_voicebench_mc_draws_a_seeded_letter_when_none_is_read():
    assert scoring.voicebench_mc_correct("B", "answer is b", random.Random(0)) == (True, False)
    first = scoring.voicebench_mc_correct("A", "no idea", random.Random(3))
    assert first[1] is True and first == scoring.voicebench_mc_correct("A", "no idea", random.Random(3))


class TestLetteredOptions:
    instruction = "Which animal makes the sound? (a) dog (b) crow (c) cow (d) rooster"

    def test_by_text_or_letter(self):
        assert scoring.lettered_option_match("(a) dog", "It is a dog.", self.instruction)
        assert scoring.lettered_option_match("(a) dog", "(a)", self.instruction)

    def test_wrong_or_two_options(self):
        assert not scoring.lettered_option_match("(a) dog", "A cow.", self.instruction)
        assert not scoring.lettered_option_match("(a) dog", "a dog or a crow", self.instruction)
        assert not scoring.lettered_option_match("(a) dog", "I cannot tell.", self.instruction)


def test_refusal():
    phrases = ["i'm sorry", "i cannot"]
    assert scoring.is_refusal("I'm sorry, but no.", phrases)
    assert scoring.is_refusal("   ", phrases)
    assert not scoring.is_refusal("Sure, here is how.", phrases)


@pytest.mark.parametrize("text, rating", [("4", 4.0), ("Rating: [[5]]", 5.0), ("I think 3.", 3.0), ("none", None)])
def test_judge_rating(text, rating):
    assert scoring.judge_rating(text) == rating


class TestWordErrors:
    def test_normaliser_removes_case_punctuation_and_spelling(self):
        # Whisper's normaliser: lower case, no punctuation, British spelling -> American, numbers spelled out.
        assert scoring.word_errors("The colour is red.", "the color is RED") == (0, 4)
        assert scoring.word_errors("I have two dogs", "I have 2 dogs") == (0, 4)

    def test_counts_substitutions_deletions_insertions(self):
        assert scoring.word_errors("the cat sat down", "the cat sad") == (2, 4)
        assert scoring.word_errors("hello world", "") == (2, 2)
        assert scoring.word_errors("hello", "hello big world") == (2, 1)
