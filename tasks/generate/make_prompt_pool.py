"""Writes the instruction pools: `python -m tasks.generate.make_prompt_pool --version 2 --out tasks/generate/prompt_pool_v2.jsonl`.

The committed JSONL is the source of truth (rows sample from it by prompt id); this script records how
v1 was composed: hand-written instructions per category, plus constrained-format requests built as
subject x format so that format constraints cover every subject evenly. A new pool version is a new
file (prompt_pool_v2.jsonl), never an edit of v1, so old rows keep their meaning.

kind: "speech" (speech clips), "sound_music" (sound and music clips), "music" / "sound" (only those).

v2 shifts the balance towards questions whose answer the seed description gives (gender, pitch, speed,
volume, accent; a sound's category; a piece's instrument, notes, chord and pattern), worded so that the
answer must name the value (no yes/no questions), and keeps fewer constrained-format requests: in v1,
attribute questions were 13 % of the rows and constrained formats 42 %, so the targets said little about
what each clip sounds like. The categories named by `asked_by` in attribute_wording.yaml are exactly these.

v3 keeps v2's speech prompts and asks sound and music clips only for descriptions and their attributes (see
_pool_v3): with v2 most of their answers never named the sound they stood for.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tasks.storage import write_text

SPEECH = {
    "description": [
        "Describe the audio clip.",
        "What can you tell me about this recording?",
        "Give a short description of what you hear.",
        "Summarize the recording in a few sentences.",
        "Describe the speaker and what they say.",
        "Tell me everything you notice about this speech clip.",
        "Characterize the voice in this recording.",
        "Explain what happens in this audio.",
        "Provide an overview of the clip, covering both the content and the voice.",
        "How would you describe this recording to someone who cannot hear it?",
        "Give a detailed account of the speech you hear.",
        "What is going on in this recording?",
        "Paint a picture of the speaker based on this clip.",
        "Describe the delivery of the speech: pace, loudness and pitch.",
        "Write a caption for this audio clip.",
        "Describe this audio as if you were cataloguing it for an archive.",
        "What stands out to you about this recording?",
        "Write a brief report on the speech in this clip.",
        "Describe the voice and the message in plain language.",
        "Give me an accessible description of this clip for a hearing-impaired reader.",
        "Describe the acoustic qualities of this speech.",
        "Offer a neutral, factual description of the recording.",
        "Walk me through this clip from start to finish.",
        "What would a sound engineer note about this recording?",
        "Describe the speaking style you hear.",
        "Give a one-paragraph profile of this audio.",
        "Tell me about the person speaking and the way they talk.",
        "Describe the recording conditions and the voice.",
        "What kind of speech is this, and how is it delivered?",
        "Describe both what is said and how it is said.",
    ],
    "gender_question": [
        "Is the speaker male or female?",
        "What is the gender of the speaker?",
        "Does this voice sound like a man or a woman?",
        "Identify the speaker's gender.",
        "Would you say the voice belongs to a male or a female speaker? Explain briefly.",
        "Tell me the likely gender of the person talking.",
        "Based on the voice alone, what gender would you guess the speaker is?",
        "Classify the speaker's voice as male or female.",
        "Who is talking here, a man or a woman?",
        "What does the voice suggest about the speaker's gender?",
        "State the speaker's gender in one word.",
        "Is this a male voice?",
    ],
    "pitch_question": [
        "How high or low is the speaker's pitch?",
        "Describe the pitch of this voice.",
        "Is the speaker's voice high-pitched or low-pitched?",
        "Rate the pitch of the voice as low, medium or high.",
        "What can you say about the pitch of the speech?",
        "Does the speaker talk with a deep voice?",
        "Characterize the voice's pitch in a sentence.",
        "Would you call this voice high, normal or low in pitch?",
        "How would you describe the tone height of this speaker?",
        "Is the pitch of this voice unusual in any way?",
        "Tell me about the pitch level you hear.",
        "Is this a high voice?",
    ],
    "speed_question": [
        "How fast is the person speaking?",
        "Describe the speaking rate in this clip.",
        "Is the speech slow, moderate or fast?",
        "Does the speaker talk quickly or slowly?",
        "Comment on the pace of the speech.",
        "Rate the speaking speed from slow to fast.",
        "Would a listener find this speech easy to follow given its pace?",
        "What is the tempo of the speaker's delivery?",
        "Is the speaker rushing or taking their time?",
        "Tell me how quickly the words are spoken.",
        "Is the speech delivered at a normal speed?",
        "Characterize the rhythm and speed of the talking.",
    ],
    "volume_question": [
        "How loud is the speaker?",
        "Describe the volume of the speech.",
        "Is the voice loud, normal or quiet?",
        "Does the speaker talk softly or loudly?",
        "Comment on the loudness of this recording.",
        "Rate the volume of the voice.",
        "Is the speech easy to hear, or is it faint?",
        "Would you describe this voice as quiet?",
        "How strong is the speaker's voice in terms of volume?",
        "Tell me about the loudness level of the talking.",
        "Is the speaker raising their voice?",
        "Does the volume make the speech sound calm or forceful?",
    ],
    "transcription": [
        "Transcribe the speech.",
        "What does the speaker say?",
        "Write down the spoken words.",
        "Provide a transcript of this clip.",
        "Repeat exactly what is said in the recording.",
        "Convert the speech to text.",
        "Give me the words spoken in this audio, without commentary.",
        "Write out the speech verbatim.",
        "What is being said here?",
        "Type out what you hear the speaker say.",
        "Produce a clean transcript of the utterance.",
        "Transcribe the audio and add punctuation.",
        "Write the transcript in all lowercase letters.",
        "Give the transcript, then count the words in it.",
        "What are the first few words of the speech?",
        "What is the last word the speaker says?",
        "Transcribe the clip and mark who speaks if there is more than one voice.",
        "Write the spoken sentence and correct any grammar mistakes.",
        "Give the transcript of the recording in quotation marks.",
        "What sentence does the speaker say?",
        "Turn this speech into written text.",
        "Listen and write down the message.",
        "What words can you make out in this clip?",
        "Transcribe the speech, then paraphrase it.",
    ],
    "reasoning": [
        "What might be the purpose of this utterance?",
        "In what situation could someone say this?",
        "What can you infer about the speaker from this clip?",
        "Is this speech more likely read aloud or spontaneous? Explain your reasoning.",
        "What would be an appropriate reply to the speaker?",
        "Does the way the speaker talks fit the content of what they say? Explain.",
        "Could this recording come from a phone system? Why or why not?",
        "Guess who the intended listener is, and justify your guess.",
        "What is the main point the speaker is trying to get across?",
        "Would this clip be suitable for a children's audiobook? Explain.",
        "What follow-up question could a listener ask after hearing this?",
        "Is the speaker giving information, asking something or instructing? Explain.",
        "What background knowledge does a listener need to understand this clip?",
        "Does anything in the recording make the speech harder to understand?",
        "If this were part of a longer conversation, what might come next?",
        "What setting do you imagine this was recorded in, and why?",
        "Is the delivery appropriate for a public announcement? Explain.",
        "Given the voice and pace, would this be comfortable to listen to for an hour?",
        "Which detail of the recording tells you the most about the speaker?",
        "How confident are you about the speaker's characteristics, and what limits that confidence?",
        "What would you change about the delivery to make it clearer?",
        "Could the same sentence sound different if spoken faster? How?",
        "Does the recording sound natural or synthetic? Give reasons.",
        "What task could this recording be used for, such as a voice menu or a lecture?",
        "Explain what the listener is expected to do after hearing this.",
        "What does the clip reveal about the recording environment?",
        "Is this speech formal or informal? Explain.",
        "Why might someone record this message?",
        "Apart from the words themselves, what cues tell you how the speaker is talking?",
        "Reason step by step about who is speaking and what they want.",
    ],
    "comparison": [
        "Is the speaker's pitch higher or lower than that of a typical adult man?",
        "Compare the speaking speed to normal conversational speech.",
        "Is this voice louder or quieter than ordinary talking?",
        "How does the start of the clip compare with the end?",
        "Compare this voice with a typical news presenter's voice.",
        "Is the pace faster or slower than an audiobook narrator's?",
        "How would this clip differ if the speaker whispered it?",
        "Compare the voice's pitch with a typical adult woman's.",
        "Is this recording clearer or less clear than a phone call?",
        "Contrast the speaker's style with that of casual chat.",
        "Would the message sound more urgent if spoken louder? Compare the two.",
        "Compare the length of the speech with the length of the recording.",
        "Is the speech rate steady, or does it change during the clip?",
        "How does this voice compare with a robotic text-to-speech voice?",
        "Compare the loudness of the speech with any background sound.",
        "Is the speaker's voice deeper than average?",
        "How does the clarity of this clip compare with a studio recording?",
        "Compare how a child and this speaker would sound saying the same words.",
        "Is this utterance shorter or longer than a typical sentence in conversation?",
        "Which is more noticeable here: the pitch or the pace of the voice?",
    ],
    "creative": [
        "Write a short poem inspired by this recording.",
        "Invent a short story in which this sentence is spoken.",
        "Imagine the scene where this was recorded and describe it vividly.",
        "Write a tweet about this audio clip.",
        "Create a dialogue that continues from this clip.",
        "Write a haiku about the speaker's voice.",
        "Describe this clip as a film script stage direction.",
        "Give the speaker a fictional name and backstory that fit the voice.",
        "Write a limerick that uses the words the speaker says.",
        "Turn this utterance into a headline for a newspaper.",
        "Write a product review of this recording as if it were a podcast episode.",
        "Imagine you are the speaker; write a diary entry about saying this.",
        "Compose a riddle whose answer is the content of this clip.",
        "Write a short radio advertisement that starts with this sentence.",
        "Describe this voice using only metaphors.",
        "Write a two-line rhyme about what is said.",
        "Imagine this clip is from a mystery novel; what happens next?",
        "Create a title for a song inspired by this speech.",
        "Write a short letter replying to the speaker.",
        "Describe the speaker as a character in a fairy tale.",
        "Invent a board game rule based on what the speaker says.",
        "Write a motivational quote inspired by this clip.",
        "Retell the speech as a pirate would.",
        "Summarize the clip as a six-word story.",
    ],
}

SPEECH_FORMAT_SUBJECTS = [
    "Describe the speaker's voice",
    "Summarize what is said",
    "Report the speaker's gender and pitch",
    "Describe how fast and how loudly the person speaks",
    "Transcribe the speech",
    "Explain the likely context of the recording",
    "List the characteristics of the voice",
    "Describe the recording",
    "Give the main message of the speech",
    "Describe the speaking style",
]

SOUND_MUSIC = {
    "description": [
        "Describe the audio clip.",
        "What do you hear in this recording?",
        "Give a short description of the sounds.",
        "Summarize this audio in a few sentences.",
        "What is happening in this clip?",
        "Write a caption for this sound recording.",
        "Describe the audio as if cataloguing it for a sound library.",
        "Tell me everything you notice about this clip.",
        "Explain the content of this recording.",
        "How would you describe this audio to someone who cannot hear it?",
        "Give an accessible description of this clip.",
        "Describe the texture and character of the sound.",
        "What stands out in this recording?",
        "Provide a neutral, factual description of the audio.",
        "Walk me through the clip from beginning to end.",
        "What would a sound designer note about this clip?",
        "Describe the acoustic qualities of the recording.",
        "Give a one-paragraph profile of this audio.",
        "Describe the sound source and how it sounds.",
        "What kind of audio is this?",
        "Describe this clip in plain, everyday language.",
        "Characterize the recording in terms of pitch, loudness and duration.",
        "What is the most prominent sound here?",
        "Describe how the audio evolves over time.",
        "Give a detailed account of this audio.",
    ],
    "category_question": [
        "What is making this sound?",
        "Identify the sound source.",
        "Which category does this audio belong to?",
        "Is this music, speech or an environmental sound?",
        "Name the sound you hear.",
        "What object or animal could produce this audio?",
        "Classify the audio into a sound category.",
        "What type of sound event is this?",
        "Where does this sound most likely come from?",
        "Label this clip with one word.",
        "What is the source of the sound, and how sure are you?",
        "Is the sound natural, mechanical or electronic?",
        "Give the audio category of this clip.",
        "What would you search for to find similar sounds?",
        "Tag this audio with three keywords.",
    ],
    "reasoning": [
        "Where might this sound have been recorded?",
        "What could be the purpose of this sound?",
        "Would this audio be suitable as a phone notification? Explain.",
        "What might happen right after this sound?",
        "Is this sound likely to be pleasant or annoying to most people? Why?",
        "In what kind of video would this audio fit best?",
        "What does this sound tell you about its surroundings?",
        "Could this clip be used as an alarm? Explain your reasoning.",
        "Is the sound continuous or made of separate events? What does that suggest?",
        "Reason step by step about what produced this sound.",
        "What would a listener feel when hearing this in a quiet room?",
        "Would this audio work as background for studying? Why or why not?",
        "Is this sound more likely recorded or synthesized? Give reasons.",
        "What situation would call for playing this sound?",
        "Does the sound suggest something is starting, ending or ongoing?",
        "How could this clip be used in a game?",
        "What clues in the audio help identify its source?",
        "Is there anything surprising about this sound?",
        "Could this sound be mistaken for something else? Explain.",
        "Why might someone include this clip in a sound collection?",
        "What would you expect to see if you were where this was recorded?",
        "How long does the sound last, and does that fit its likely source?",
        "Is this audio better suited for a calm or an energetic scene? Explain.",
        "What physical process produces a sound like this?",
        "Is the clip complete, or does it seem cut off? Explain.",
    ],
    "comparison": [
        "How does the beginning of the clip compare with the end?",
        "Is this sound louder or softer than a typical conversation?",
        "Compare this sound with a doorbell.",
        "Is the pitch of this audio higher or lower than a human voice?",
        "How does this clip differ from ordinary speech?",
        "Is this sound shorter or longer than a typical notification tone?",
        "Compare the audio with the sound of rain.",
        "Which is more prominent here: rhythm or pitch?",
        "How would this sound change if it were recorded far away?",
        "Is this clip more or less busy than street noise?",
        "Compare the brightness of this sound with a bell.",
        "How does this audio compare with a piano note?",
        "Is the sound steady or does its loudness change?",
        "Compare this clip with silence: what does it add to a room?",
        "Is this sound sharper or smoother than a whistle?",
    ],
    "creative": [
        "Write a short poem inspired by this sound.",
        "Invent a story in which this sound plays an important part.",
        "Describe the scene this audio suggests, vividly.",
        "Write a haiku about this clip.",
        "Give this sound a creative title.",
        "Write a tweet reacting to this audio.",
        "Describe this sound using only metaphors.",
        "Imagine this clip opens a film; describe the first scene.",
        "Write a two-line rhyme about the sound.",
        "Create a riddle whose answer is this sound.",
        "Write a short advertisement that uses this sound.",
        "Describe the clip from the point of view of a cat.",
        "Invent a name for the creature or machine that makes this sound.",
        "Write a diary entry from someone who hears this sound every day.",
        "Turn this sound into a sentence in a children's book.",
        "Compose a short chant inspired by the rhythm of this audio.",
        "Write a six-word story about this clip.",
        "Describe this sound as a colour and explain why.",
        "Imagine this audio is a message from space; what does it say?",
        "Write a product description for a toy that makes this sound.",
    ],
}

SOUND_MUSIC_FORMAT_SUBJECTS = [
    "Describe the audio",
    "Identify the sound source",
    "Summarize the clip",
    "Describe the pitch and loudness of the sound",
    "Explain where this audio could be heard",
    "List the characteristics of the sound",
    "Describe how the sound changes over time",
    "Suggest a use for this audio",
]

MUSIC = {
    "instrument_question": [
        "Which instrument is playing?",
        "What notes are being played?",
        "Is this a single note, a melody or a chord?",
        "Name the instrument family you hear.",
        "Describe the timbre of the instrument.",
        "What is the musical key or tonal centre, if any?",
        "Are the notes played one after another or together?",
        "How many distinct notes can you identify?",
        "Is the music played on a real instrument or generated electronically?",
        "Describe the melody in musical terms.",
        "Is the pitch rising, falling or staying the same?",
        "What tempo would you assign to this music?",
        "Would this piece work as a ringtone? Explain.",
        "Describe the articulation: are the notes plucked, bowed, struck or sustained?",
        "Write the notes you hear in scientific pitch notation.",
        "Is the music major or minor in character?",
        "What genre does this music suggest?",
        "Describe the dynamics of the music.",
        "How would a musician describe this passage?",
        "Suggest a title for this piece of music.",
    ],
}

SOUND = {
    "event_question": [
        "Is the sound produced by an animal, a person or a machine?",
        "How many separate sound events can you hear?",
        "Does the sound repeat? Describe the pattern.",
        "Is this an indoor or an outdoor sound?",
        "Would this sound be heard in a home, an office or outdoors?",
        "Is this sound a signal meant to get attention?",
        "Does the sound have a clear pitch, or is it noise-like?",
        "Is the sound getting closer, moving away or staying put?",
        "Which everyday activity produces a sound like this?",
        "How urgent does this sound seem?",
        "Is this sound harmful to hearing at normal playback levels?",
        "What material might be involved in making this sound?",
        "Does the sound start suddenly or fade in?",
        "Would an animal react to this sound? How?",
        "Is this a natural sound?",
    ],
}

FORMATS = [
    "in exactly one sentence.",
    "in no more than 15 words.",
    "as three bullet points.",
    "as a JSON object with the keys \"summary\" and \"details\".",
    "in the form of a numbered list.",
    "in a single paragraph of about 50 words.",
    "using simple words a child would understand.",
    "in formal, technical language.",
    "and end your answer with a question for the listener.",
    "as a two-row markdown table.",
    "starting your answer with the word \"Overall\".",
    "without using the word \"audio\".",
    "in the style of a weather report.",
    "in two short sentences.",
    "as a list of comma-separated keywords.",
]


# v2: attribute questions that can only be answered by naming the value.
SPEECH_ATTRIBUTES_V2 = {
    "gender_question": [
        "Is the speaker male or female?",
        "What is the gender of the speaker?",
        "Does this voice sound like a man or a woman?",
        "Identify the speaker's gender.",
        "Tell me the likely gender of the person talking.",
        "Based on the voice alone, what gender is the speaker?",
        "Classify the speaker's voice as male or female.",
        "Who is talking here, a man or a woman?",
        "State the speaker's gender in one word.",
        "Describe the speaker's gender and how you can tell.",
    ],
    "pitch_question": [
        "How high or low is the speaker's pitch?",
        "Describe the pitch of this voice.",
        "Is the speaker's voice high-pitched or low-pitched?",
        "Rate the pitch of the voice as low, normal or high.",
        "Would you call this voice high, normal or low in pitch?",
        "Tell me about the pitch level you hear.",
        "State the pitch of the voice in one word.",
        "Is the voice deep, medium or high?",
        "How would you describe the pitch of the speaker's voice?",
        "What pitch does the speaker talk at?",
    ],
    "speed_question": [
        "How fast is the person speaking?",
        "Describe the speaking rate in this clip.",
        "Is the speech slow, normal or fast?",
        "Does the speaker talk quickly or slowly?",
        "Rate the speaking speed as slow, normal or fast.",
        "Tell me how quickly the words are spoken.",
        "State the speaking speed in one word.",
        "What is the pace of the speech?",
        "Is the speaker rushing, talking at a normal pace, or taking their time?",
        "How would you describe the speed of the speech?",
    ],
    "volume_question": [
        "How loud is the speaker?",
        "Describe the volume of the speech.",
        "Is the voice loud, normal or quiet?",
        "Does the speaker talk softly or loudly?",
        "Rate the volume of the voice as quiet, normal or loud.",
        "Tell me about the loudness of the speech.",
        "State the volume of the speech in one word.",
        "How loud or quiet is this recording of speech?",
        "What is the loudness level of the voice?",
        "Is the speech quiet, at a normal level, or loud?",
    ],
    "accent_question": [
        "What accent does the speaker have?",
        "Which variety of English is spoken here?",
        "Describe the speaker's accent.",
        "Where might the speaker be from, judging by the accent?",
        "Identify the accent in this recording.",
        "Name the accent you hear.",
        "What regional accent can you detect in the voice?",
        "State the speaker's accent in a few words.",
    ],
}

SOUND_ATTRIBUTES_V2 = {
    "category_question": [
        "What is making this sound?",
        "Identify the sound source.",
        "Which category does this audio belong to?",
        "Name the sound you hear.",
        "What type of sound event is this?",
        "Give the audio category of this clip.",
        "Label this clip with a short sound category.",
        "What kind of sound is this? Answer in a few words.",
        "Tell me what this sound is.",
        "Which sound event do you hear?",
        "Classify the audio into a sound category.",
        "What sound is played in this clip?",
        "Name the sound and describe it briefly.",
        "What produced the sound in this recording?",
        "Identify the sound effect in this clip.",
    ],
}

MUSIC_ATTRIBUTES_V2 = {
    "instrument_name_question": [
        "Which instrument is playing?",
        "Name the instrument you hear.",
        "What instrument produces this music?",
        "Identify the instrument in this clip.",
        "What kind of instrument is being played?",
        "Tell me which instrument plays these notes.",
    ],
    "notes_question": [
        "What notes are being played?",
        "Write the notes you hear in scientific pitch notation.",
        "Name the notes in this clip.",
        "Which notes can you identify?",
        "List the notes played, in order.",
        "Tell me the pitches of the notes you hear.",
    ],
    "pattern_question": [
        "Is this a single note, an arpeggio or a chord?",
        "Are the notes played one after another or together?",
        "Is this a chord, an arpeggio or one note?",
        "Describe how the notes are played: together, one after another, or as a single note.",
        "What musical pattern do you hear: a single note, a chord or an arpeggio?",
    ],
    "chord_question": [
        "Which chord is played?",
        "Name the chord you hear.",
        "What chord do these notes form?",
        "Identify the chord in this clip.",
    ],
}


def _rows(kind: str, categories: dict[str, list[str]], subjects: list[str], formats: list[str]):
    for category, texts in categories.items():
        for text in texts:
            yield {"kind": kind, "category": category, "text": text}
    for subject in subjects:
        for fmt in formats:
            yield {"kind": kind, "category": "constrained_format", "text": f"{subject} {fmt}"}


def _pool_v1():
    return [
        *_rows("speech", SPEECH, SPEECH_FORMAT_SUBJECTS, FORMATS),
        *_rows("sound_music", SOUND_MUSIC, SOUND_MUSIC_FORMAT_SUBJECTS, FORMATS[:12]),
        *_rows("music", MUSIC, [], []),
        *_rows("sound", SOUND, [], []),
    ]


def _first(categories: dict[str, list[str]], counts: dict[str, int]) -> dict[str, list[str]]:
    """The first `counts[category]` prompts of each listed category (all of an unlisted one)."""
    return {category: texts[:counts.get(category, len(texts))] for category, texts in categories.items()}


def _pool_v2():
    """Attribute questions: 40 % of a speech clip's prompts, 31 % of a sound's, 38 % of a music clip's."""
    speech = {**_first({k: v for k, v in SPEECH.items() if not k.endswith("_question")},
                       {"description": 16, "transcription": 12, "reasoning": 10, "creative": 8, "comparison": 6}),
              **SPEECH_ATTRIBUTES_V2}
    # Music clips have no sound category: v2 asks for it of sound clips only.
    sound_music = _first({k: v for k, v in SOUND_MUSIC.items() if k != "category_question"},
                         {"description": 8, "reasoning": 5, "creative": 4, "comparison": 3})
    music = {**MUSIC_ATTRIBUTES_V2, "music_question": [text for text in MUSIC["instrument_question"]
                                                        if text not in str(MUSIC_ATTRIBUTES_V2)][:6]}
    sound = {**SOUND_ATTRIBUTES_V2, "event_question": SOUND["event_question"][:6]}
    return [
        *_rows("speech", speech, SPEECH_FORMAT_SUBJECTS, FORMATS[:2]),
        *_rows("sound_music", sound_music, SOUND_MUSIC_FORMAT_SUBJECTS, FORMATS[:1]),
        *_rows("music", music, [], []),
        *_rows("sound", sound, [], []),
    ]


def _pool_v3():
    """v2's speech prompts; sound and music clips are asked what they sound like. With v2, 56 % of the sound
    rows asked about events, reasons, comparisons, stories or formats, and their answers named the described
    sound in 30 % of cases (category questions 79 %, descriptions 70 %, music descriptions 90 %): a sound
    clip's targets hardly depended on what it sounds like, and the trained connector heard every clip alike."""
    v2 = _pool_v2()
    speech = [row for row in v2 if row["kind"] == "speech"]
    music = [row for row in v2 if row["kind"] == "music" and row["category"] != "music_question"]
    described = {"description": SOUND_MUSIC["description"], "reasoning": SOUND_MUSIC["reasoning"][:2]}
    return [*speech, *_rows("sound_music", described, [], []), *music, *_rows("sound", SOUND_ATTRIBUTES_V2, [], [])]


BUILDERS = {1: _pool_v1, 2: _pool_v2, 3: _pool_v3}


def build_pool(version: int = 1) -> list[dict]:
    rows = BUILDERS[version]()
    counters: dict[str, int] = {}
    pool = []
    for row in rows:
        counters[row["kind"]] = counters.get(row["kind"], 0) + 1
        pool.append({"id": f"v{version}-{row['kind']}-{counters[row['kind']]:04d}", **row})
    texts = [(row["kind"], row["text"]) for row in pool]
    if len(set(texts)) != len(texts):
        raise ValueError("duplicate prompt text within a kind")
    return pool


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", type=int, choices=sorted(BUILDERS), required=True)
    # No default: the pool the pipeline reads is generate.prompt_pool in params.yaml.
    parser.add_argument("--out", required=True, help="the pool file to write, e.g. tasks/generate/prompt_pool_v3.jsonl")
    args = parser.parse_args()
    out = Path(args.out)
    pool = build_pool(args.version)
    write_text(str(out), "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in pool))
    print(f"wrote {len(pool)} prompts to {out}")


if __name__ == "__main__":
    main()
