"""Split an HH-RLHF dialogue into its prompt (the last human turn) and its final response.

A chosen and a rejected HH-RLHF dialogue share their history and differ in the last assistant
turn (2,307 of the 2,312 harmless-base test pairs have identical histories). Encoding the whole
dialogue makes both features nearly equal, so the preference signal drowns in the shared context;
encoding the final response, with the human turn it answers as a separate input, keeps it.

Dialogues are strings of turns ``"\\n\\nHuman: ..."`` and ``"\\n\\nAssistant: ..."`` (the format of
Bai et al., "Training a Helpful and Harmless Assistant with Reinforcement Learning from Human
Feedback", 2022, arXiv:2204.05862).
"""

from __future__ import annotations

from dataclasses import dataclass

HUMAN_MARKER = "\n\nHuman:"
ASSISTANT_MARKER = "\n\nAssistant:"


@dataclass(frozen=True)
class DialogueTurns:
    """The final exchange of a dialogue.

    Attributes:
        prompt: text of the last human turn before the final assistant turn ("" if none).
        response: text of the final assistant turn (the whole dialogue if it has no marker).
    """

    prompt: str
    response: str


def final_exchange(dialogue: str) -> DialogueTurns:
    """The last human turn and the final assistant response of an HH-format dialogue.

    A text without an ``"\\n\\nAssistant:"`` marker is treated as a bare response, so plain
    chosen/rejected responses (not dialogues) pass through unchanged.

    Args:
        dialogue: the dialogue text.

    Returns:
        :class:`DialogueTurns`, both parts stripped of surrounding white space.

    Example:
        >>> turns = final_exchange("\\n\\nHuman: hi\\n\\nAssistant: hello\\n\\nHuman: bye"
        ...                        "\\n\\nAssistant: see you")
        >>> turns.prompt, turns.response
        ('bye', 'see you')
    """
    if not isinstance(dialogue, str):
        raise TypeError(f"dialogue must be a str, got {type(dialogue).__name__}")
    cut = dialogue.rfind(ASSISTANT_MARKER)
    if cut < 0:
        return DialogueTurns("", dialogue.strip())
    response = dialogue[cut + len(ASSISTANT_MARKER) :].strip()
    history = dialogue[:cut]
    human = history.rfind(HUMAN_MARKER)
    prompt = history[human + len(HUMAN_MARKER) :].strip() if human >= 0 else ""
    return DialogueTurns(prompt, response)
