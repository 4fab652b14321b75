"""An evaluation set for the description parser, written apart from its vocabulary.

A generator samples descriptive codes (a few attributes, each with a direction
and a strength), renders each into a description from sentence templates and
phrasings, and keeps the code as the answer. Phrasings and templates are split
into a *development* half (looked at while building the parser) and a
*held-out* half (only measured): the held-out phrasings use words and sentence
shapes of their own, so the score says how the parser handles text it was not
written against.

Phrasing strings: ``"adjective|noun"`` can be said both ways ("a hooked nose",
"the nose is hooked"); ``"=text"`` is a fixed noun phrase ("=a nose with a bump").
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

# attribute → (phrasings for +, phrasings for −). Alternate entries are held out.
REGION_PHRASINGS: dict[str, tuple[list[str], list[str]]] = {
    "head.width": (["wide|head", "broad|head", "=a head that is wide", "wide|skull"],
                   ["narrow|head", "slim|head", "=a narrow skull", "thin|skull"]),
    "head.length": (["long|head", "elongated|head", "tall|skull", "=a long skull"],
                    ["short|head", "=a short skull", "flat|head", "compact|head"]),
    "forehead.height": (["high|forehead", "tall|forehead", "big|forehead", "large|forehead",
                         "domed|forehead"],
                        ["low|forehead", "short|forehead", "small|forehead",
                         "narrow|forehead"]),
    "forehead.slope": (["sloping|forehead", "receding|forehead", "slanted|forehead",
                        "backward-sloping|forehead"],
                       ["straight|forehead", "vertical|forehead", "upright|forehead",
                        "prominent|forehead"]),
    "eyebrows.height": (["high|eyebrows", "high-set|eyebrows", "lifted|brows",
                         "=eyebrows set high"],
                        ["low|eyebrows", "low-set|brows", "=eyebrows that sit low",
                         "overhanging|brows"]),
    "eyebrows.angle": (["arched|eyebrows", "raised|brows", "highly arched|eyebrows",
                        "curved|eyebrows", "peaked|brows"],
                       ["downturned|eyebrows", "drooping|brows", "=eyebrows slanting down",
                        "furrowed|brows", "angry|eyebrows"]),
    "eyebrows.thickness": (["thick|eyebrows", "bushy|eyebrows", "heavy|brows",
                            "shaggy|eyebrows", "dense|brows", "caterpillar|eyebrows"],
                           ["thin|eyebrows", "sparse|brows", "plucked|eyebrows",
                            "pencil-thin|brows", "wispy|eyebrows", "faint|brows"]),
    "eyes.size": (["big|eyes", "large|eyes", "huge|eyes", "enormous|eyes", "doe|eyes",
                   "saucer-like|eyes"],
                  ["small|eyes", "tiny|eyes", "beady|eyes", "little|eyes", "narrow|eyes",
                   "piggy|eyes"]),
    "eyes.spacing": (["wide-set|eyes", "=eyes set far apart", "widely spaced|eyes",
                      "=eyes that are far apart", "=eyes spaced wide apart"],
                     ["close-set|eyes", "=eyes set close together", "closely spaced|eyes",
                      "=eyes that sit close together", "=eyes placed close together"]),
    "eyes.tilt": (["upturned|eyes", "cat-like|eyes", "upward-slanting|eyes",
                   "=eyes that tilt upward", "feline|eyes"],
                  ["downturned|eyes", "droopy|eyes", "hound-dog|eyes",
                   "=eyes that slant downward", "drooping|eyes"]),
    "eyes.depth": (["deep-set|eyes", "sunken|eyes", "deeply set|eyes", "=deep set eyes",
                    "hollow|eyes"],
                   ["bulging|eyes", "protruding|eyes", "bug|eyes", "popping|eyes",
                    "prominent|eyes"]),
    "eyes.bags": (["=bags under the eyes", "baggy|eyes", "puffy|eyes",
                   "=heavy bags under his eyes", "=dark circles under the eyes"],
                  ["=no bags under the eyes", "=eyes without any bags"]),
    "eyes.hooded": (["hooded|eyes", "heavy-lidded|eyes", "=hooded eyelids",
                     "sleepy|eyes", "=heavy eyelids"],
                    ["=eyes that are not hooded", "=eyes without hooded lids"]),
    "nose.size": (["big|nose", "large|nose", "huge|nose", "prominent|nose", "enormous|nose",
                   "massive|nose"],
                  ["small|nose", "tiny|nose", "little|nose", "petite|nose", "dainty|nose",
                   "delicate|nose"]),
    "nose.length": (["long|nose", "elongated|nose", "=a nose that is long",
                     "lengthy|nose"],
                    ["short|nose", "stubby|nose", "=a nose that is short",
                     "=a nose on the short side"]),
    "nose.width": (["wide|nose", "broad|nose", "flared|nose", "=a nose with wide nostrils",
                    "=a nose with flaring nostrils"],
                   ["narrow|nose", "thin|nose", "slim|nose", "slender|nose", "pinched|nose"]),
    "nose.bridge": (["high-bridged|nose", "=a nose with a high bridge", "straight|nose",
                     "Greek|nose", "=a tall nose bridge"],
                    ["flat|nose", "flattened|nose", "=a nose with a low bridge", "pug|nose",
                     "squashed|nose"]),
    "nose.hump": (["hooked|nose", "aquiline|nose", "Roman|nose", "=a nose with a bump",
                   "hawk-like|nose", "beak-like|nose", "humped|nose"],
                  ["scooped|nose", "concave|nose", "ski-slope|nose", "=a scooped-out nose",
                   "dished|nose"]),
    "nose.tip": (["upturned|nose", "turned-up|nose", "snub|nose", "=a nose that points up",
                  "button|nose", "=a nose with an upturned tip"],
                 ["drooping|nose", "=a nose whose tip droops", "downturned|nose",
                  "=a nose that points down", "hanging|nose"]),
    "mouth.width": (["wide|mouth", "big|mouth", "broad|mouth", "large|mouth",
                     "generous|mouth"],
                    ["small|mouth", "narrow|mouth", "tiny|mouth", "little|mouth",
                     "rosebud|mouth"]),
    "lips.thickness": (["full|lips", "thick|lips", "plump|lips", "pouty|lips",
                        "fleshy|lips", "luscious|lips"],
                       ["thin|lips", "narrow|lips", "tight|lips", "pursed|lips",
                        "thin, tight|lips", "slim|lips"]),
    "mouth.corners": (["=upturned corners of the mouth", "=mouth corners that turn up",
                       "=a mouth with upturned corners", "=the corners of the mouth turned up"],
                      ["=downturned corners of the mouth", "=mouth corners that turn down",
                       "=a mouth with drooping corners", "=a downturned mouth"]),
    "cheeks.fullness": (["full|cheeks", "chubby|cheeks", "round|cheeks", "plump|cheeks",
                         "puffy|cheeks", "chipmunk|cheeks"],
                        ["hollow|cheeks", "sunken|cheeks", "gaunt|cheeks", "hollowed|cheeks",
                         "thin|cheeks", "caved-in|cheeks"]),
    "cheekbones.prominence": (["high|cheekbones", "prominent|cheekbones", "sharp|cheekbones",
                               "chiseled|cheekbones", "pronounced|cheekbones",
                               "striking|cheekbones"],
                              ["flat|cheekbones", "low|cheekbones", "soft|cheekbones",
                               "barely visible|cheekbones", "weak|cheekbones"]),
    "chin.length": (["long|chin", "elongated|chin", "tall|chin", "=a long lower face"],
                    ["short|chin", "stubby|chin", "=a short chin", "=a chin that is short"]),
    "chin.width": (["wide|chin", "broad|chin", "square|chin", "blocky|chin"],
                   ["narrow|chin", "pointed|chin", "pointy|chin", "tapered|chin"]),
    "chin.prominence": (["jutting|chin", "prominent|chin", "protruding|chin", "strong|chin",
                         "=a chin that juts forward"],
                        ["receding|chin", "weak|chin", "retreating|chin", "recessed|chin",
                         "=a chin that recedes"]),
    "chin.cleft": (["cleft|chin", "dimpled|chin", "=a cleft in the chin", "split|chin"],
                   ["=no cleft in the chin", "=a chin without a cleft"]),
    "jaw.width": (["wide|jaw", "square|jaw", "strong|jaw", "broad|jaw", "chiseled|jawline",
                   "heavy|jaw", "powerful|jaw"],
                  ["narrow|jaw", "weak|jaw", "delicate|jaw", "slim|jawline", "soft|jaw",
                   "tapered|jawline"]),
    "ears.size": (["big|ears", "large|ears", "huge|ears", "enormous|ears", "elephant|ears"],
                  ["small|ears", "tiny|ears", "little|ears", "dainty|ears", "petite|ears"]),
    "ears.protrusion": (["protruding|ears", "=ears that stick out", "jug|ears",
                         "=ears sticking out", "=ears that stand out from the head"],
                        ["=ears pinned back", "=ears flat against the head",
                         "tucked|ears", "=ears lying close to the head", "flat|ears"]),
    "ears.pointed": (["pointed|ears", "pointy|ears", "elfin|ears", "elf-like|ears",
                      "=ears with pointed tips"],
                     ["rounded|ears", "round|ears", "=ears with round tips",
                      "=ears with rounded tops"]),
    "neck.thickness": (["thick|neck", "bull|neck", "muscular|neck", "wide|neck",
                        "beefy|neck", "=a neck like a tree trunk"],
                       ["thin|neck", "slender|neck", "swan-like|neck", "delicate|neck",
                        "skinny|neck", "narrow|neck"]),
}  # fmt: skip

# Global attributes: adjectives for the subject ("a gaunt man") or "with" phrases.
PERSON_PHRASINGS: dict[str, tuple[list[str], list[str]]] = {
    "weight": (["heavyset", "chubby", "overweight", "plump", "stout", "portly", "rotund",
                "chunky", "pudgy", "obese"],
               ["gaunt", "skinny", "slender", "bony", "emaciated", "wiry", "lean", "scrawny",
                "rail-thin", "willowy"]),
    "muscle": (["muscular", "athletic", "brawny", "well-built", "powerfully built", "buff",
                "strong"],
               ["frail", "weak", "feeble", "puny", "fragile", "weedy"]),
    "skin.tone": (["dark-skinned", "=dark brown skin", "=deep brown skin", "=ebony skin",
                   "=a dark complexion", "=very dark skin"],
                  ["pale", "fair-skinned", "=pale skin", "=porcelain skin",
                   "=a fair complexion", "=a very pale complexion"]),
    "skin.freckles": (["freckled", "=freckles", "=a freckled face", "=lots of freckles",
                       "=freckles across the nose", "=a face full of freckles"],
                      ["=no freckles", "=skin without freckles"]),
    "skin.wrinkles": (["wrinkled", "weathered", "=deep wrinkles", "=a lined face",
                       "=crow's feet", "=a leathery, creased face", "=a deeply wrinkled face"],
                      ["=smooth skin", "=unlined skin", "=wrinkle-free skin",
                       "=a smooth face", "=flawless skin"]),
    "beard": (["bearded", "=a full beard", "=a thick beard", "=a bushy beard",
               "=a long beard", "=a big beard"],
              ["clean-shaven", "=no beard", "=a clean-shaven face", "=a smooth-shaven face",
               "beardless", "=no facial hair"]),
}  # fmt: skip

GENDER_NOUNS = {
    1: (["man", "guy", "gentleman", "male", "fellow", "dude"], "he", "his"),
    -1: (["woman", "lady", "female", "gal", "dame", "lass"], "she", "her"),
}
NEUTRAL_NOUNS = (["person", "individual", "adult", "character"], "they", "their")

AGE_PHRASINGS = {
    "young": ["young", "youthful", "=in their twenties", "=in their early twenties",
              "=aged 22", "=a 24-year-old"],
    "middle": ["middle-aged", "=in their forties", "=in their late forties", "=aged 45",
               "=a 50-year-old", "=in their mid-forties"],
    "old": ["elderly", "old", "=in their seventies", "=aged 75", "=an 80-year-old",
            "=in their late sixties", "aged", "=in their eighties"],
}  # fmt: skip
ANCESTRY_PHRASINGS = {
    "african": ["African", "Nigerian", "Kenyan", "Ghanaian", "Ethiopian", "Senegalese"],
    "asian": ["Asian", "Japanese", "Korean", "Chinese", "Vietnamese", "Mongolian"],
    "caucasian": ["Caucasian", "Scandinavian", "Irish", "Russian", "Polish", "Dutch"],
}
EXPRESSION_PHRASINGS = {
    "smile": ["smiling", "=with a warm smile", "grinning", "=wearing a big grin", "beaming"],
    "laugh": ["laughing", "=laughing heartily", "chuckling", "=caught mid-laugh", "giggling"],
    "frown": ["frowning", "=with a deep frown", "scowling", "=wearing a scowl", "glowering"],
    "sad": ["sad", "sorrowful", "=looking sad", "melancholy", "=with a mournful expression"],
    "angry": ["angry", "furious", "=looking angry", "enraged", "=with an angry expression"],
    "surprised": ["surprised", "astonished", "=looking surprised", "shocked", "startled"],
    "disgust": ["disgusted", "=looking disgusted", "revolted", "=with a disgusted sneer",
                "repulsed"],
    "fear": ["frightened", "terrified", "=looking scared", "fearful", "=with a fearful look"],
}  # fmt: skip
EYE_COLOUR_PHRASINGS = {
    "brown": ["brown", "dark brown", "chocolate-brown"], "blue": ["blue", "icy blue", "pale blue"],
    "green": ["green", "emerald", "emerald-green"], "gray": ["gray", "grey", "steel-gray"],
    "hazel": ["hazel", "hazel", "light hazel"], "amber": ["amber", "golden", "amber-colored"],
}  # fmt: skip
FACE_SHAPE_PHRASINGS = {
    "round": ["round", "=a round face", "=a moon-shaped face"],
    "square": ["square", "=a square face", "=a boxy face"],
    "long": ["long", "=a long face", "=an elongated face"],
    "oval": ["oval", "=an oval face", "=an egg-shaped face"],
    "heart": ["heart-shaped", "=a heart-shaped face", "=a heart shaped face"],
    "diamond": ["diamond-shaped", "=a diamond-shaped face", "=a diamond face"],
    "triangle": ["triangular", "=a triangular face", "=a pear-shaped face"],
}

INTENSITY = {
    "weak": ["slightly", "somewhat", "a bit", "mildly"],
    "plain": [""],
    "strong": ["very", "extremely", "really", "remarkably"],
}
HELD_OUT_INTENSITY = {
    "weak": ["a little", "faintly", "moderately"],
    "plain": [""],
    "strong": ["incredibly", "exceptionally", "unusually"],
}

# Sentence templates. {subject}: "a gaunt elderly man"; {features}: joined noun phrases;
# {predicates}: "Their nose is long. Their eyes are small."
DEV_TEMPLATES = [
    "{subject} with {features}. {predicates}",
    "{Subject}. {Pron} has {features}. {predicates}",
    "{subject} who has {features}. {predicates}",
]
HELD_OUT_TEMPLATES = [
    "Picture {subject}: {features_semicolon}. {predicates}",
    "This is {subject}, featuring {features}. {predicates}",
    "Portrait of {subject}; {features}. {predicates}",
    "{predicates} Overall, {subject} with {features}.",
    "Meet {subject}. Notice {features}. {predicates}",
]


@dataclass
class EvalCase:
    """A description and the code it was written from."""

    text: str
    scalars: dict[str, int] = field(default_factory=dict)  # attribute → expected sign
    categories: dict[str, Any] = field(default_factory=dict)  # face.shape, eyes.color, …
    age_group: str | None = None
    ancestry: str | None = None


_SELF_STANDING = ("in ", "with ", "aged ", "looking ", "laughing", "caught ", "wearing ")


def _split(options: list[str], held_out: bool) -> list[str]:
    part = options[1::2] if held_out else options[0::2]
    return part or options


def generate_cases(count: int, held_out: bool, seed: int = 0) -> list[EvalCase]:
    """``count`` descriptions from the development or the held-out half."""
    rng = random.Random(seed + (7919 if held_out else 0))
    templates = HELD_OUT_TEMPLATES if held_out else DEV_TEMPLATES
    intensity = HELD_OUT_INTENSITY if held_out else INTENSITY
    return [_one_case(rng, templates, intensity, held_out) for _ in range(count)]


def _one_case(rng: random.Random, templates, intensity, held_out: bool) -> EvalCase:
    case = EvalCase(text="")
    gender = rng.choice([1, -1, 0])
    nouns, pron, poss = GENDER_NOUNS.get(gender, NEUTRAL_NOUNS)
    if gender:
        case.scalars["gender"] = gender
    adjectives: list[str] = []
    withs: list[str] = []
    for attribute, (positive, negative) in PERSON_PHRASINGS.items():
        if rng.random() < 0.15:
            sign = rng.choice([1, -1])
            phrase = rng.choice(_split(positive if sign > 0 else negative, held_out))
            case.scalars[attribute] = sign
            (withs if phrase.startswith("=") else adjectives).append(phrase.lstrip("="))
    if rng.random() < 0.4:
        case.age_group = rng.choice(list(AGE_PHRASINGS))
        phrase = rng.choice(_split(AGE_PHRASINGS[case.age_group], held_out))
        if phrase.startswith("="):
            text = phrase[1:].replace("their", poss)
            if text.startswith(("a ", "an ")):
                adjectives.insert(0, text.split(" ", 1)[1])
            else:
                withs.append(text)
        else:
            adjectives.insert(0, phrase)
    if rng.random() < 0.3:
        case.ancestry = rng.choice(list(ANCESTRY_PHRASINGS))
        adjectives.append(rng.choice(_split(ANCESTRY_PHRASINGS[case.ancestry], held_out)))
    if rng.random() < 0.25:
        expression = rng.choice(list(EXPRESSION_PHRASINGS))
        case.categories["expression"] = expression
        phrase = rng.choice(_split(EXPRESSION_PHRASINGS[expression], held_out))
        (withs if phrase.startswith("=") else adjectives).append(phrase.lstrip("="))

    features: list[str] = []
    predicates: list[str] = []
    regions = rng.sample(list(REGION_PHRASINGS), rng.randint(1, 4))
    used_nouns: set[str] = set()
    for attribute in regions:
        positive, negative = REGION_PHRASINGS[attribute]
        sign = rng.choice([1, -1])
        phrase = rng.choice(_split(positive if sign > 0 else negative, held_out))
        noun = phrase.split("|")[1] if "|" in phrase else phrase
        if noun in used_nouns:  # one statement per noun keeps the answer unambiguous
            continue
        used_nouns.add(noun)
        case.scalars[attribute] = sign
        level = rng.choice(list(intensity))
        word = rng.choice(intensity[level])
        if phrase.startswith("="):
            features.append(phrase[1:].replace("his", poss))
            continue
        adjective, noun = phrase.split("|")
        negate = held_out and rng.random() < 0.15 and "," not in adjective
        plural = noun.endswith("s")
        if negate:  # "the nose is not narrow": the opposite direction, stated negatively
            opposite = negative if sign > 0 else positive
            candidates = [p for p in opposite if "|" in p and p.endswith("|" + noun)]
            if candidates:
                other = rng.choice(candidates).split("|")[0]
                verb = "are" if plural else "is"
                predicates.append(f"{poss.capitalize()} {noun} {verb} not {other}.")
                continue
        adjective = f"{word} {adjective}".strip()
        if rng.random() < 0.5 or not held_out:
            article = "" if plural else ("an " if adjective[0] in "aeiou" else "a ")
            features.append(f"{article}{adjective} {noun}")
        else:
            verb = "are" if plural else "is"
            predicates.append(f"{poss.capitalize()} {noun} {verb} {adjective}.")
    if rng.random() < 0.15:
        colour = rng.choice(list(EYE_COLOUR_PHRASINGS))
        case.categories["eyes.color"] = colour
        features.append(f"{rng.choice(_split(EYE_COLOUR_PHRASINGS[colour], held_out))} eyes")
    if rng.random() < 0.12:
        shape = rng.choice(list(FACE_SHAPE_PHRASINGS))
        case.categories["face.shape"] = shape
        phrase = rng.choice(_split(FACE_SHAPE_PHRASINGS[shape], held_out))
        if phrase.startswith("="):
            features.append(phrase[1:])
        else:
            adjectives.append(f"{phrase}-faced")

    noun = rng.choice(nouns)
    subject = " ".join(adjectives + [noun])
    subject = ("an " if subject[0] in "aeiou" else "a ") + subject
    if withs:
        said = [w if w.startswith(_SELF_STANDING) else f"with {w}" for w in withs]
        subject += " " + (said[0] if len(said) == 1 else f"{', '.join(said[:-1])} and {said[-1]}")
    features = features or ["an ordinary face"]
    joined = features[0] if len(features) == 1 else f"{', '.join(features[:-1])} and {features[-1]}"
    case.text = (
        rng.choice(templates)
        .format(
            subject=subject,
            Subject=subject[0].upper() + subject[1:],
            Pron=pron.capitalize(),
            features=joined,
            features_semicolon="; ".join(features),
            predicates=" ".join(predicates),
        )
        .replace(" has ", " have " if pron == "they" else " has ")
        .replace(" .", ".")
        .strip()
    )
    return case


# Hair (issue 17): phrasings written apart from the parser by someone who never saw its
# vocabulary (benchmarks/hair_phrasings.py); alternate entries are held out, as above.
def generate_hair_cases(count: int, held_out: bool, seed: int = 0) -> list[EvalCase]:
    """``count`` descriptions stating a hairstyle, hair colour and (men) facial hair."""
    from benchmarks.hair_phrasings import (
        BEARD_COLOUR_PHRASINGS,
        FACIAL_HAIR_PHRASINGS,
        HAIR_COLOUR_PHRASINGS,
        HAIR_STYLE_PHRASINGS,
    )

    rng = random.Random(seed + (104729 if held_out else 17))
    templates = HELD_OUT_TEMPLATES if held_out else DEV_TEMPLATES
    cases = []
    for _ in range(count):
        case = EvalCase(text="")
        gender = rng.choice([1, -1])
        nouns, pron, poss = GENDER_NOUNS[gender]
        features: list[str] = []
        predicates: list[str] = []
        style = rng.choice(list(HAIR_STYLE_PHRASINGS)) if rng.random() < 0.8 else None
        if style:
            case.categories["hair.style"] = style
            features.append(rng.choice(_split(HAIR_STYLE_PHRASINGS[style], held_out)))
        if style != "bald" and rng.random() < 0.6:
            colour = rng.choice(list(HAIR_COLOUR_PHRASINGS))
            case.categories["hair.color"] = colour
            said = rng.choice(_split(HAIR_COLOUR_PHRASINGS[colour], held_out))
            predicates.append(f"{poss.capitalize()} hair is {said}.")
        if gender > 0 and rng.random() < 0.7:
            if rng.random() < 0.7:
                facial = rng.choice(list(FACIAL_HAIR_PHRASINGS))
                case.categories["facial_hair.style"] = facial
                features.append(rng.choice(_split(FACIAL_HAIR_PHRASINGS[facial], held_out)))
            else:
                colour = rng.choice(list(BEARD_COLOUR_PHRASINGS))
                case.categories["facial_hair.color"] = colour
                features.append(rng.choice(_split(BEARD_COLOUR_PHRASINGS[colour], held_out)))
        subject = "a " + rng.choice(nouns)
        features = features or ["an ordinary face"]
        joined = (
            features[0] if len(features) == 1 else f"{', '.join(features[:-1])} and {features[-1]}"
        )
        case.text = (
            rng.choice(templates)
            .format(
                subject=subject,
                Subject=subject.capitalize(),
                Pron=pron.capitalize(),
                features=joined,
                features_semicolon="; ".join(features),
                predicates=" ".join(predicates),
            )  # fmt: skip
            .replace(" .", ".")
            .strip()
        )
        cases.append(case)
    return cases
