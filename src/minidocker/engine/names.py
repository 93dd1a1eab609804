"""Generated container names, Docker-style: `adjective_surname` of a scientist or engineer."""

from __future__ import annotations

import os


def _words(text: str) -> list[str]:
    return text.split()


ADJECTIVES = _words("""
agile amazing awesome blissful bold brave busy calm careful charming clever cool dazzling
determined eager ecstatic elastic elegant epic exciting fervent festive focused friendly
gallant gentle happy hardcore hopeful hungry jolly keen kind laughing loving lucid magical
modest nice nifty nostalgic peaceful pensive practical quirky relaxed serene sharp silly
sleepy stoic sweet tender thirsty trusting upbeat vibrant vigilant wizardly youthful zealous
""")

SURNAMES = _words("""
agnesi albattani allen archimedes babbage banach bardeen bartik bell bhabha bohr booth
borg bose brahmagupta brattain cannon carson cerf chandrasekhar curie darwin dijkstra
einstein elion engelbart euclid euler faraday fermat fermi feynman franklin galileo gauss
goldberg goodall hamilton hawking heisenberg hertz hodgkin hopper hypatia jackson jang
johnson kalam kepler khorana knuth kowalevski lalande lamarr leakey leavitt lovelace
lumiere mayer mccarthy mcclintock meitner mendel mirzakhani morse napier newton nobel
noether pascal pasteur payne perlman pike poincare raman ramanujan ride ritchie saha
shannon shaw sinoussi snyder stonebraker swanson tesla thompson torvalds turing varahamihira
visvesvaraya volhard wescoff wiles williams wilson wing wozniak wright yalow yonath
""")


def generate(attempt: int = 0) -> str:
    """A random name; after a few collisions a digit is appended, as Docker does."""
    raw = int.from_bytes(os.urandom(4), "little")
    name = f"{ADJECTIVES[raw % len(ADJECTIVES)]}_{SURNAMES[(raw >> 12) % len(SURNAMES)]}"
    if name == "boring_wozniak":  # Docker's one exception, kept for familiarity
        return generate(attempt)
    if attempt > 3:
        name += str(raw % 10 if attempt < 10 else raw % 1000)
    return name
