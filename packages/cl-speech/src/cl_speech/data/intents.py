"""The spoken-command intent grammar: action / object / location, as in Fluent Speech Commands.

Fluent Speech Commands (Lugosch et al., "Speech Model Pre-training for End-to-End Spoken Language
Understanding", Interspeech 2019, arXiv:1904.03670) labels each utterance with an (action, object,
location) triple; its 31 distinct triples are the intents that continual-SLU papers split into
tasks. This module defines a comparable set of 24 home-assistant intents and several phrasings of
each, so that transcripts differ across speakers while the intent stays the same.

Example:
    >>> len(INTENTS)
    24
    >>> INTENTS[0].name
    'activate_lights_kitchen'
    >>> phrasings(INTENTS[0])[0]
    'turn on the lights in the kitchen'
"""

from __future__ import annotations

from dataclasses import dataclass

NO_LOCATION = "none"
LOCATIONS = ("kitchen", "bedroom", "washroom", NO_LOCATION)


@dataclass(frozen=True)
class Intent:
    """One intent: what to do (action), to what (object), where (location or ``"none"``)."""

    action: str
    object: str
    location: str

    @property
    def name(self) -> str:
        """``action_object_location``, the label written to the manifest."""
        return f"{self.action}_{self.object}_{self.location}"


# Phrasings per (action, object); ``{where}`` becomes " in the <location>" or "".
_TEMPLATES: dict[tuple[str, str], tuple[str, ...]] = {
    ("activate", "lights"): (
        "turn on the lights{where}",
        "switch on the lights{where}",
        "lights on{where}",
    ),
    ("deactivate", "lights"): (
        "turn off the lights{where}",
        "switch off the lights{where}",
        "lights off{where}",
    ),
    ("increase", "heat"): (
        "turn up the heat{where}",
        "make it warmer{where}",
        "increase the temperature{where}",
    ),
    ("decrease", "heat"): (
        "turn down the heat{where}",
        "make it cooler{where}",
        "decrease the temperature{where}",
    ),
    ("increase", "volume"): ("turn up the volume", "make it louder", "increase the volume"),
    ("decrease", "volume"): ("turn down the volume", "make it quieter", "decrease the volume"),
    ("activate", "music"): ("play the music", "start the music", "put some music on"),
    ("deactivate", "music"): ("stop the music", "pause the music", "turn the music off"),
    ("bring", "newspaper"): ("bring me the newspaper", "get the newspaper", "fetch the newspaper"),
    ("bring", "juice"): ("bring me some juice", "get me the juice", "fetch some juice"),
    ("bring", "socks"): ("bring me my socks", "get my socks", "fetch my socks"),
    ("bring", "shoes"): ("bring me my shoes", "get my shoes", "fetch my shoes"),
}

_LOCATED = (
    ("activate", "lights"),
    ("deactivate", "lights"),
    ("increase", "heat"),
    ("decrease", "heat"),
)
_UNLOCATED = (
    ("increase", "volume"),
    ("decrease", "volume"),
    ("activate", "music"),
    ("deactivate", "music"),
    ("bring", "newspaper"),
    ("bring", "juice"),
    ("bring", "socks"),
    ("bring", "shoes"),
)

#: The 24 intents: lights on/off and heat up/down in each of 4 locations (16), 8 without one.
INTENTS: tuple[Intent, ...] = tuple(
    Intent(action, obj, location) for action, obj in _LOCATED for location in LOCATIONS
) + tuple(Intent(action, obj, NO_LOCATION) for action, obj in _UNLOCATED)


def phrasings(intent: Intent) -> tuple[str, ...]:
    """Every transcript that expresses ``intent`` (lower case, no punctuation).

    Raises:
        ValueError: ``intent`` is not one of :data:`INTENTS`.
    """
    if intent not in INTENTS:
        raise ValueError(f"intent must be one of INTENTS, got {intent!r}")
    where = "" if intent.location == NO_LOCATION else f" in the {intent.location}"
    return tuple(
        template.format(where=where) for template in _TEMPLATES[(intent.action, intent.object)]
    )
