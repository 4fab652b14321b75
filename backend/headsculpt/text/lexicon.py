"""The curated vocabulary: how people name face regions and describe them.

The parser reads a description as *descriptors* (adjectives and short
phrases) attached to *regions* (nose, eyes, …) or to the whole person. This
module holds those words and nothing else, so adding a synonym is a one-line
change. Values follow the descriptive code (headsculpt.descriptive_code):
scalars are signed strengths in [-1, 1] before intensity words scale them.

Words not listed here are not lost: the sentence encoder
(headsculpt.text.semantic) maps them to the nearest entry of the same region,
or reports them as abstract or ignored.
"""

from __future__ import annotations

from typing import Any

Values = dict[str, Any]

# How strongly a plain descriptor ("a long nose") sets its attribute.
PLAIN = 0.6
STRONG = 0.9

# region → the nouns that name it (singular and plural; hyphen compounds such as
# "hook-nosed" use the stems in COMPOUND_STEMS).
REGION_NOUNS: dict[str, tuple[str, ...]] = {
    "face": ("face", "faces", "features", "visage", "countenance", "face shape"),
    "head": ("head", "skull", "cranium"),
    "forehead": ("forehead", "foreheads"),
    "eyebrows": ("eyebrows", "eyebrow", "brows", "brow", "eye brows"),
    "eyes": ("eyes", "eye", "gaze", "eyelids", "eyelid", "lids"),
    "nose": ("nose", "noses", "nostrils", "bridge", "schnoz", "schnozz", "beak", "snout",
             "nose bridge",
             "bridge of the nose", "bridge of his nose", "bridge of her nose"),
    "mouth": ("mouth", "smile"),
    "lips": ("lips", "lip", "upper lip", "lower lip"),
    "corners": ("corners", "corner", "corners of the mouth", "corners of his mouth",
                "corners of her mouth",
                "mouth corners", "corners of their mouth"),
    "cheeks": ("cheeks", "cheek", "jowls"),
    "cheekbones": ("cheekbones", "cheekbone", "cheek bones"),
    "chin": ("chin", "chins"),
    "jaw": ("jaw", "jawline", "jaws", "jaw line"),
    "ears": ("ears", "ear", "earlobes"),
    "neck": ("neck", "throat"),
    "skin": ("skin", "complexion", "skin tone", "skintone"),
    "beard": ("beard", "beards", "facial hair", "whiskers", "full beard"),
    "moustache": ("moustache", "mustache", "moustaches", "mustaches", "handlebar moustache",
                  "handlebar mustache", "pencil moustache", "pencil mustache", "walrus moustache",
                  "walrus mustache", "tache", "mustachio"),
    "goatee": ("goatee", "goatees", "chin beard", "soul patch", "van dyke", "billy-goat beard",
               "billy goat beard", "circle beard"),
    "stubble": ("stubble", "five o'clock shadow", "beard stubble", "designer stubble"),
    "hair": ("hair", "hairs", "locks", "hairstyle", "hairdo", "haircut", "mane", "tresses",
             "head of hair", "mop", "mop of hair"),
    # Hairstyles named by a noun: naming one states the style ("a ponytail").
    "curls": ("curls", "ringlets", "coils", "corkscrew curls"),
    # Braids hang as one or two tails: the ponytail is the nearest style.
    "ponytail": ("ponytail", "pony tail", "ponytails", "pigtail", "pigtails", "braid",
                 "braids", "plait", "plaits", "french braid", "french braids"),
    "bun": ("bun", "hair bun", "top knot", "topknot", "chignon", "updo", "man bun", "knot"),
    "waves": ("waves", "beach waves", "loose waves"),
    "parting": ("side part", "side parting", "parting", "hard part", "side-part", "comb-over",
                "combover"),
    "short_cut": ("short back and sides", "pixie cut", "pixie", "undercut", "crop",
                  "short crop", "quiff", "fade", "caesar cut"),
    "afro": ("afro", "fro"),
    "mohawk": ("mohawk", "mohawks", "mohican", "mohicans", "mohawk haircut", "mohawk cut",
               "mohican haircut", "liberty spikes", "crest of hair"),
    "slick_back": ("slick-back", "slickback", "slick back", "slicked-back hairstyle"),
    "bob": ("bob", "bob cut", "pageboy", "bobbed hair"),
    "crop": ("buzz cut", "buzzcut", "crew cut", "crewcut", "buzz", "flat top", "flattop",
             "military cut", "skinhead", "clipper cut", "induction cut"),
    "hairline": ("hairline", "hair line"),
    # Things the face has more or less of: named alone they say "some" ("freckles").
    "freckles": ("freckles", "freckle", "sunspots", "sun spots"),
    "wrinkles": ("wrinkles", "wrinkle", "lines", "creases", "crow's feet", "laugh lines",
                 "furrows", "crows feet", "crow feet", "wrinkling"),
    "bags": ("bags", "eye bags", "dark circles", "bags under the eyes",
             "bags under his eyes", "bags under her eyes", "bags under their eyes"),
}  # fmt: skip

# "hook-nosed" → stem "nosed" names the nose.
COMPOUND_STEMS: dict[str, str] = {
    "faced": "face", "headed": "head", "browed": "eyebrows", "eyed": "eyes", "nosed": "nose",
    "mouthed": "mouth", "lipped": "lips", "cheeked": "cheeks", "chinned": "chin",
    "jawed": "jaw", "eared": "ears", "necked": "neck", "skinned": "skin", "haired": "hair",
    "bearded": "beard", "lidded": "eyes", "boned": "cheekbones", "moustached": "moustache",
    "mustached": "moustache", "goateed": "goatee", "stubbled": "stubble",
}  # fmt: skip

_EYE_COLOURS: dict[str, str] = {
    "brown": "brown", "dark brown": "brown", "dark": "brown", "chocolate": "brown",
    "black": "brown", "blue": "blue", "light blue": "blue", "pale blue": "blue",
    "icy blue": "blue", "ice blue": "blue", "sky blue": "blue", "azure": "blue",
    "green": "green", "emerald": "green", "jade": "green", "gray": "gray", "grey": "gray",
    "steel": "gray", "silver": "gray", "steely": "gray", "hazel": "hazel", "amber": "amber",
    "golden": "amber", "honey": "amber", "yellow": "amber",
}  # fmt: skip

_HAIR_COLOURS: dict[str, str] = {
    "black": "black", "jet black": "black", "jet-black": "black", "dark": "black",
    "raven": "black", "brown": "brown", "dark brown": "brown", "brunette": "brown",
    "chestnut": "brown", "light brown": "brown", "mousy": "brown", "mousey": "brown",
    "mousy brown": "brown", "chocolate": "brown", "blond": "blond", "blonde": "blond",
    "fair": "blond", "golden": "blond", "sandy": "blond", "flaxen": "blond",
    "honey": "blond", "dirty blond": "blond", "dirty blonde": "blond", "ash blond": "blond",
    "red": "red", "ginger": "red", "copper": "red", "strawberry blond": "red",
    "strawberry blonde": "red", "fiery": "red", "fiery red": "red", "carrot": "red",
    "flame": "red", "auburn": "auburn", "russet": "auburn", "mahogany": "auburn",
    "titian": "auburn", "gray": "gray", "grey": "gray", "silver": "gray", "graying": "gray",
    "greying": "gray", "salt and pepper": "gray", "salt-and-pepper": "gray",
    "grizzled": "gray", "silvery": "gray", "steel grey": "gray", "iron grey": "gray",
    "white": "white", "snow white": "white", "snow-white": "white", "snowy": "white",
    "pure white": "white", "stark white": "white", "platinum": "blond", "bleached": "blond",
    "reddish-brown": "auburn", "reddish brown": "auburn", "coppery": "auburn",
    "coppery-brown": "auburn", "copper-brown": "auburn", "blue-black": "black",
    "steel-grey": "gray", "steel-gray": "gray", "iron-grey": "gray", "ash grey": "gray",
}  # fmt: skip
# Colours only scalp hair takes (dyed): the brows and beard keep a natural one.
_DYED_COLOURS: dict[str, str] = {
    "platinum": "platinum", "platinum blond": "platinum", "platinum blonde": "platinum",
    "bleached": "platinum", "bleached blond": "platinum", "bleached blonde": "platinum",
    "icy": "platinum", "blue": "blue", "electric blue": "blue", "teal": "blue",
    "turquoise": "blue", "navy": "blue", "pink": "pink", "hot pink": "pink",
    "bubblegum": "pink", "bubblegum pink": "pink", "pastel pink": "pink", "magenta": "pink",
    "rose": "pink", "green": "green", "neon green": "green", "emerald": "green",
    "lime": "green", "lime green": "green", "purple": "purple", "violet": "purple",
    "lilac": "purple", "lavender": "purple", "plum": "purple",
}  # fmt: skip


def _colour_entries(colours: dict[str, str], attribute: str) -> dict[str, Values]:
    return {word: {attribute: value} for word, value in colours.items()}


def _same(values: Values, *words: str) -> dict[str, Values]:
    return dict.fromkeys(words, values)


def _merged(*tables: dict[str, Values]) -> dict[str, Values]:
    """Union of word tables; a word listed twice sets the attributes of both lists
    ("grandmother": gender and age)."""
    out: dict[str, Values] = {}
    for table in tables:
        for word, values in table.items():
            out[word] = {**out.get(word, {}), **values}
    return out


# Region nouns that on their own already state an attribute ("a beard", "freckles").
REGION_PRESENCE: dict[str, Values] = {
    "beard": {"beard": PLAIN, "facial_hair.style": "full_beard"},
    "moustache": {"beard": PLAIN, "facial_hair.style": "moustache"},
    "goatee": {"beard": PLAIN, "facial_hair.style": "goatee"},
    "stubble": {"beard": -0.3, "facial_hair.style": "stubble"},
    "curls": {"hair.style": "curly"},
    "ponytail": {"hair.style": "ponytail"},
    "bun": {"hair.style": "bun"},
    "afro": {"hair.style": "afro"},
    "mohawk": {"hair.style": "mohawk"},
    "slick_back": {"hair.style": "slicked_back"},
    "bob": {"hair.style": "bob"},
    "crop": {"hair.style": "buzz"},
    "waves": {"hair.style": "long_wavy"},
    "parting": {"hair.style": "side_part"},
    "short_cut": {"hair.style": "short"},
    "freckles": {"skin.freckles": PLAIN},
    "wrinkles": {"skin.wrinkles": PLAIN},
    "bags": {"eyes.bags": PLAIN},
}


# Region nouns that, negated, mean the feature is missing ("no eyebrows", "without a beard").
REGION_ABSENCE: dict[str, Values] = {
    "eyebrows": {"eyebrows.thickness": -1.0},
    "beard": {"beard": -1.0, "facial_hair.style": "none"},
    "moustache": {"beard": -1.0, "facial_hair.style": "none"},
    "goatee": {"beard": -1.0, "facial_hair.style": "none"},
    "stubble": {"beard": -1.0, "facial_hair.style": "none"},
    "hair": {"hair.style": "bald"},
    "freckles": {"skin.freckles": -PLAIN},
    "wrinkles": {"skin.wrinkles": -PLAIN},
    "bags": {"eyes.bags": -PLAIN},
}


def _amounts(attribute: str) -> dict[str, Values]:
    """How much of a countable feature: "deep wrinkles", "a few freckles"."""
    return {
        **_same({attribute: STRONG}, "deep", "heavy", "many", "lots of", "a lot of",
                "numerous", "prominent", "pronounced", "dense", "countless", "thick",
                "big", "large", "dark", "plenty of", "covered in", "full of", "deeply"),
        **_same({attribute: PLAIN}, "visible", "noticeable", "some", "several", "obvious"),
        **_same({attribute: 0.3}, "fine", "faint", "light", "few", "a few", "slight",
                "small", "subtle", "little", "scattered", "sparse", "minor", "soft"),
    }  # fmt: skip


def _styled(
    style: str, table: dict[str, Values], key: str = "facial_hair.style", noun_wins: bool = False
) -> dict[str, Values]:
    """Every descriptor of a region that names a style also states it ("a thick
    moustache" is a moustache). A descriptor naming a style of its own keeps it ("a short
    beard") unless ``noun_wins`` ("a sleek bob" is a bob)."""
    if noun_wins:
        return {word: {**values, key: style} for word, values in table.items()}
    return {word: {key: style, **values} for word, values in table.items()}  # fmt: skip


def _facial_hair_descriptors() -> dict[str, Values]:
    """How big a moustache or goatee is, and its colour."""
    return _merged(
        _same({"beard": STRONG}, "thick", "bushy", "big", "heavy", "full", "huge",
              "handlebar", "walrus", "drooping", "droopy", "luxuriant", "curled", "waxed"),
        _same({"beard": PLAIN}, "thin", "neat", "trimmed", "small", "pencil", "pencil-thin",
              "short", "little", "wispy", "tidy", "pointed", "pointy"),
        _colour_entries(_HAIR_COLOURS, "facial_hair.color"),
    )  # fmt: skip


def _scalp_hair_descriptors() -> dict[str, Values]:
    """Length, style words and colour (natural or dyed) of the hair on the head."""
    return _merged(
        _same({"hair.length": STRONG}, "long", "waist-length", "flowing", "very long",
              "hip-length", "lengthy"),
        _same({"hair.length": PLAIN}, "shoulder-length", "shoulder length", "medium-length",
              "medium length", "chin-length", "collar-length", "mid-length"),
        _same({"hair.length": -PLAIN}, "short", "cropped", "close-cut",
              "short-cut", "trimmed"),
        _same({"hair.style": "buzz"}, "buzzed", "buzz-cut", "shaved", "shaven", "crew-cut",
              "close-cropped", "closely cropped", "clipped", "shorn", "military"),
        _same({"hair.style": "curly"}, "curly", "frizzy", "kinky", "coily", "permed",
              "tightly curled", "ringleted", "corkscrew"),
        _same({"hair.style": "long_wavy"}, "wavy", "tousled", "windswept", "beachy",
              "loose curls"),
        _same({"hair.style": "long_straight"}, "straight", "sleek", "poker-straight",
              "silky", "straightened"),
        _same({"hair.style": "side_part"}, "side-parted", "parted", "combed", "combed-over",
              "side parted", "neatly combed"),
        _same({"hair.style": "slicked_back"}, "slicked", "slicked back", "slicked-back",
              "combed back", "combed-back", "swept back", "swept-back", "brushed back",
              "brushed-back", "greased back", "greased-back", "greased", "gelled",
              "gelled back", "slick", "slick-back", "slickback", "pomaded", "brilliantined",
              "wet-look", "straight back", "combed straight back", "brushed straight back",
              "gelled straight back", "greased straight back", "swept straight back"),
        _same({"hair.style": "mohawk"}, "mohawked", "mohican"),
        _same({"hair.style": "bob"}, "bobbed"),
        _same({"hair.style": "receding"}, "thinning", "receding", "balding", "sparse",
              "wispy"),
        _same({"hair.style": "ponytail"}, "tied back", "tied-back", "pulled back",
              "pulled-back", "tied up"),
        _same({"hair.style": "bun"}, "pinned up", "put up", "up", "piled up"),
        _same({"hair.style": "afro"}, "afro", "natural", "big natural"),
        _colour_entries(_HAIR_COLOURS, "hair.color"),
        _colour_entries(_DYED_COLOURS, "hair.color"),
    )  # fmt: skip


# region → descriptor → values. Descriptors are lower case; multi-word ones are
# matched as whole phrases ("far apart", "sticking out").
REGION_DESCRIPTORS: dict[str, dict[str, Values]] = {
    "face": _merged(
        _same({"face.shape": "round"}, "round", "rounded", "moon", "circular"),
        _same({"face.shape": "square"}, "square", "squared", "boxy", "angular"),
        _same({"face.shape": "long"}, "long", "elongated", "horse", "oblong", "lengthy"),
        _same({"face.shape": "oval"}, "oval", "egg-shaped", "egg shaped"),
        _same({"face.shape": "heart"}, "heart-shaped", "heart shaped", "heart"),
        _same({"face.shape": "diamond"}, "diamond", "diamond-shaped", "diamond shaped"),
        _same({"face.shape": "triangle"}, "triangular", "triangle", "pear-shaped", "pear"),
        _same({"head.width": PLAIN}, "wide", "broad"),
        _same({"head.width": -PLAIN}, "narrow"),
        _same({"cheeks.fullness": PLAIN, "weight": 0.4}, "full", "chubby", "plump", "fleshy",
              "puffy", "fat", "pudgy"),
        _same({"cheeks.fullness": -PLAIN, "weight": -0.4}, "thin", "gaunt", "lean", "drawn",
              "bony", "hollow", "skeletal", "haggard"),
        _same({"skin.wrinkles": PLAIN}, "wrinkled", "lined", "weathered", "craggy",
              "leathery", "weather-beaten", "careworn"),
        _same({"skin.wrinkles": -PLAIN}, "smooth", "unlined", "youthful", "baby"),
        _same({"skin.freckles": PLAIN}, "freckled", "freckly"),
    ),
    "head": _merged(
        _same({"head.width": PLAIN}, "wide", "broad", "round"),
        _same({"head.width": -PLAIN}, "narrow", "thin"),
        _same({"head.length": PLAIN}, "long", "tall", "elongated", "egg-shaped"),
        _same({"head.length": -PLAIN}, "short", "flat"),
        _same({"head.width": PLAIN, "head.length": PLAIN}, "big", "large", "huge",
              "massive", "oversized", "enormous"),
        _same({"head.width": -PLAIN, "head.length": -PLAIN}, "small", "little", "tiny"),
    ),
    "forehead": _merged(
        _same({"forehead.height": PLAIN}, "high", "tall", "big", "large", "broad", "wide",
              "huge", "domed", "expansive"),
        _same({"forehead.height": -PLAIN}, "low", "short", "small", "narrow"),
        _same({"forehead.slope": PLAIN}, "sloping", "receding", "slanted", "slanting",
              "sloped", "backward", "retreating"),
        _same({"forehead.slope": -PLAIN}, "straight", "vertical", "upright", "prominent",
              "bulging", "protruding", "bulbous"),
        _same({"skin.wrinkles": PLAIN}, "wrinkled", "lined", "furrowed", "creased"),
        _same({"skin.wrinkles": -PLAIN}, "smooth", "unlined"),
    ),
    "eyebrows": _merged(
        _same({"eyebrows.thickness": PLAIN}, "thick", "bushy", "heavy", "full", "dense",
              "shaggy", "wild", "unruly", "big", "strong", "beetle", "caterpillar", "dark"),
        _same({"eyebrows.thickness": -PLAIN}, "thin", "sparse", "fine", "plucked", "pencil",
              "pencil-thin", "wispy", "faint", "light", "delicate", "narrow", "barely there"),
        _same({"eyebrows.angle": PLAIN}, "arched", "raised", "curved", "high-arched",
              "quizzical", "peaked", "angled up", "slanting up"),
        _same({"eyebrows.angle": -PLAIN}, "downturned", "drooping", "droopy", "slanting down",
              "angled down", "furrowed", "knitted", "sloping down", "angry"),
        _same({"eyebrows.height": PLAIN}, "high", "high-set", "set high", "lifted"),
        _same({"eyebrows.height": -PLAIN}, "low", "low-set", "set low", "heavy-set",
              "hooded", "overhanging", "low-slung"),
        _colour_entries(_HAIR_COLOURS, "eyebrows.color"),
    ),
    "eyes": _merged(
        _same({"eyes.size": PLAIN}, "big", "large", "huge", "round", "wide", "enormous",
              "doe", "saucer", "owlish", "wide open", "wide-open"),
        _same({"eyes.size": -PLAIN}, "small", "tiny", "little", "narrow", "beady", "squinty",
              "squinting", "slit", "slitted", "piggy", "narrowed"),
        _same({"eyes.spacing": PLAIN}, "wide-set", "wide set", "far apart", "wide apart",
              "widely spaced", "widely set", "set wide", "set far apart", "far-set",
              "spaced wide", "spread apart", "set wide apart"),
        _same({"eyes.spacing": -PLAIN}, "close-set", "close set", "close together",
              "closely set", "closely spaced", "set close", "close", "set close together",
              "near together"),
        _same({"eyes.tilt": PLAIN}, "upturned", "upslanted", "upward slanting", "cat-like",
              "catlike", "cat", "feline", "tilted up", "slanted up", "slanting up",
              "upward-slanting", "up-turned", "almond", "almond-shaped", "almond shaped"),
        _same({"eyes.tilt": -PLAIN}, "downturned", "down-turned", "droopy", "drooping",
              "downslanted", "downward slanting", "downward-slanting", "hound dog",
              "hound-dog", "puppy dog", "puppy-dog", "sad", "tilted down", "slanted down",
              "slanting down", "sloping"),
        _same({"eyes.depth": PLAIN}, "deep-set", "deep set", "deepset", "sunken", "deep",
              "set deep", "hollow", "recessed", "deeply set", "sunk"),
        _same({"eyes.depth": -PLAIN}, "bulging", "protruding", "bulgy", "bug", "bug-eyed",
              "popping", "prominent", "goggle", "protuberant", "pop", "bulbous"),
        _same({"eyes.bags": PLAIN}, "baggy", "puffy", "tired", "bagged", "swollen",
              "heavy-bagged", "bags under", "dark circles", "with bags"),
        _same({"eyes.hooded": PLAIN}, "hooded", "heavy-lidded", "heavy lidded", "sleepy",
              "half-closed", "lidded", "bedroom", "heavy"),
        _colour_entries(_EYE_COLOURS, "eyes.color"),
    ),
    "nose": _merged(
        _same({"nose.size": PLAIN}, "big", "large", "huge", "prominent", "enormous",
              "massive", "giant", "oversized", "generous", "substantial", "strong"),
        _same({"nose.size": -PLAIN}, "small", "little", "tiny", "petite", "dainty", "cute",
              "delicate", "minute"),
        _same({"nose.size": PLAIN, "nose.width": PLAIN}, "bulbous", "fleshy", "potato",
              "round", "bulky", "meaty"),
        _same({"nose.length": PLAIN}, "long", "elongated", "lengthy"),
        _same({"nose.length": -PLAIN}, "short", "stubby"),
        _same({"nose.width": PLAIN}, "wide", "broad", "flared", "flaring", "splayed"),
        _same({"nose.width": -PLAIN}, "narrow", "thin", "slim", "slender", "pinched",
              "pointed", "pointy", "sharp", "fine", "straight narrow"),
        _same({"nose.bridge": PLAIN}, "high-bridged", "high", "tall",
              "straight", "greek", "grecian", "chiseled", "chiselled", "noble"),
        _same({"nose.bridge": -PLAIN}, "flat", "flattened", "low-bridged",
              "pug", "squashed", "squat", "boxer's", "broken", "low", "saddle"),
        _same({"nose.hump": PLAIN}, "hooked", "aquiline", "roman", "beaked", "beak-like",
              "hawk-like", "hawkish", "hawk", "humped", "bumpy", "crooked", "arched",
              "convex", "eagle", "curved", "hook", "with a bump", "with a hump"),
        _same({"nose.hump": -PLAIN}, "scooped", "concave", "ski-slope", "ski slope",
              "dished", "sloped"),
        _same({"nose.tip": PLAIN}, "upturned", "turned-up", "turned up", "up-turned",
              "snub", "button", "pert", "retrousse", "piggy", "pointing up", "tilted up",
              "upward", "celestial", "snubbed"),
        _same({"nose.tip": -PLAIN}, "drooping", "droopy", "downturned", "down-turned",
              "hanging", "pointing down", "turned down", "hooked down", "tilted down",
              "downward", "sagging"),
    ),
    "mouth": _merged(
        _same({"mouth.width": PLAIN}, "wide", "big", "large", "broad", "generous", "huge"),
        _same({"mouth.width": -PLAIN}, "small", "narrow", "tiny", "little", "petite",
              "rosebud", "tight"),
        _same({"lips.thickness": PLAIN}, "full-lipped", "pouty", "pouting", "sensual"),
        _same({"lips.thickness": -PLAIN}, "thin-lipped", "lipless", "thin", "mean"),
        _same({"mouth.corners": PLAIN}, "upturned", "turned up", "up-turned", "smiling"),
        _same({"mouth.corners": -PLAIN}, "downturned", "down-turned", "turned down",
              "drooping", "droopy", "sagging", "sulky", "grim"),
    ),
    "lips": _merged(
        _same({"lips.thickness": PLAIN}, "full", "thick", "plump", "fleshy", "pouty",
              "luscious", "big", "large", "puffy", "voluptuous", "fat", "bee-stung",
              "generous", "juicy", "heavy", "wide", "lush", "pillowy"),
        _same({"lips.thickness": -PLAIN}, "thin", "narrow", "tight", "pursed", "small",
              "pinched", "slim", "slender", "compressed", "pressed", "meager", "mean"),
    ),
    "corners": _merged(
        _same({"mouth.corners": PLAIN}, "up", "upturned", "turned up", "turn up",
              "turning up", "lifted", "raised", "curl up", "curling up", "rising"),
        _same({"mouth.corners": -PLAIN}, "down", "downturned", "turned down", "turn down",
              "turning down", "drooping", "droop", "droopy", "sagging", "sag", "falling"),
    ),
    "cheeks": _merged(
        _same({"cheeks.fullness": PLAIN}, "full", "chubby", "round", "plump", "puffy",
              "fat", "fleshy", "rounded", "apple", "chipmunk", "pudgy", "podgy", "jowly",
              "heavy", "saggy", "sagging", "big"),
        _same({"cheeks.fullness": -PLAIN}, "hollow", "sunken", "gaunt", "thin", "hollowed",
              "drawn", "hollowed-out", "sucked-in", "lean", "flat", "bony", "caved",
              "caved-in", "concave", "skeletal"),
        _same({"cheekbones.prominence": PLAIN}, "high", "chiseled", "chiselled",
              "sculpted", "defined"),
    ),
    "cheekbones": _merged(
        _same({"cheekbones.prominence": PLAIN}, "high", "prominent", "sharp", "strong",
              "defined", "chiseled", "chiselled", "pronounced", "sculpted", "jutting",
              "angular", "wide", "broad", "striking", "razor", "razor-sharp", "visible"),
        _same({"cheekbones.prominence": -PLAIN}, "flat", "low", "soft", "weak", "subtle",
              "invisible", "undefined", "hidden", "barely visible", "shallow"),
    ),
    "chin": _merged(
        _same({"chin.length": PLAIN}, "long", "tall", "elongated"),
        _same({"chin.length": -PLAIN}, "short", "stubby"),
        _same({"chin.width": PLAIN}, "wide", "broad", "square", "squared", "blocky",
              "heavy", "big", "large", "massive"),
        _same({"chin.width": -PLAIN}, "narrow", "pointed", "pointy", "sharp", "small",
              "tiny", "little", "delicate", "thin", "tapered", "dainty", "v-shaped"),
        _same({"chin.prominence": PLAIN}, "jutting", "prominent", "protruding", "strong",
              "projecting", "forward", "jutting out", "sticking out", "thrust forward", "jut",
              "juts forward", "jut out",
              "determined", "firm", "bold", "lantern"),
        _same({"chin.prominence": -PLAIN}, "receding", "weak", "retreating", "recessed",
              "sloping", "withdrawn", "backward", "soft", "absent", "missing", "timid",
              "weak little", "recede", "recedes"),
        _same({"chin.cleft": PLAIN}, "cleft", "dimpled", "split", "clefted", "butt",
              "with a cleft", "with a dimple", "divided"),
        _same({"weight": PLAIN}, "double"),
    ),
    "jaw": _merged(
        _same({"jaw.width": PLAIN}, "wide", "broad", "square", "strong", "heavy", "massive",
              "chiseled", "chiselled", "angular", "lantern", "powerful", "big", "large",
              "squared", "blocky", "solid", "prominent", "defined", "sharp", "firm",
              "rugged", "granite", "chunky", "thick"),
        _same({"jaw.width": -PLAIN}, "narrow", "weak", "soft", "delicate", "slim",
              "slender", "small", "tapered", "tapering", "gentle", "petite", "dainty",
              "rounded", "thin", "receding", "little", "fine", "pointed", "v-shaped"),
    ),
    "ears": _merged(
        _same({"ears.size": PLAIN}, "big", "large", "huge", "enormous", "elephant",
              "giant", "massive", "oversized", "long"),
        _same({"ears.size": -PLAIN}, "small", "tiny", "little", "dainty", "petite",
              "short", "delicate"),
        _same({"ears.protrusion": PLAIN}, "protruding", "sticking out", "stick out",
              "sticks out", "stick-out", "jug", "jug-handle", "bat", "flared", "flaring",
              "prominent", "outstanding", "sticking-out", "wingnut", "flappy",
              "stand out", "standing out", "poking out", "dumbo"),
        _same({"ears.protrusion": -PLAIN}, "flat", "tucked", "pinned", "pinned back",
              "close to the head", "flat against", "tucked in", "tight", "flush",
              "set close", "close-set", "tucked back", "laid back"),
        _same({"ears.pointed": PLAIN}, "pointed", "pointy", "elfin", "elf", "elf-like",
              "elvish", "elven", "fairy", "tipped", "sharp", "vulcan", "fey", "peaked"),
        _same({"ears.pointed": -PLAIN}, "round", "rounded", "curved"),
    ),
    "neck": _merged(
        _same({"neck.thickness": PLAIN}, "thick", "wide", "bull", "strong", "muscular",
              "fat", "broad", "stocky", "heavy", "beefy", "massive", "tree-trunk", "short"),
        _same({"neck.thickness": -PLAIN}, "thin", "slender", "skinny", "swan", "swan-like",
              "delicate", "narrow", "slim", "scrawny", "long", "graceful", "willowy",
              "pencil"),
    ),
    "skin": _merged(
        _same({"skin.tone": -STRONG}, "pale", "porcelain", "pasty", "ivory", "alabaster",
              "milky", "very fair", "snow-white", "ghostly", "pallid", "ashen", "white"),
        _same({"skin.tone": -PLAIN}, "fair", "light", "rosy", "pink", "peaches"),
        _same({"skin.tone": 0.3}, "tanned", "tan", "olive", "bronzed", "sun-tanned",
              "suntanned", "golden", "sunburnt", "swarthy", "caramel", "honey"),
        _same({"skin.tone": STRONG}, "dark", "brown", "ebony", "deep", "black", "mahogany",
              "chocolate", "dark brown", "umber", "espresso"),
        _same({"skin.freckles": PLAIN}, "freckled", "freckly", "spotted", "speckled",
              "dappled"),
        _same({"skin.wrinkles": PLAIN}, "wrinkled", "lined", "weathered", "leathery",
              "creased", "wrinkly", "aged", "sagging", "saggy", "crinkled", "furrowed",
              "weather-beaten", "crepey", "old"),
        _same({"skin.wrinkles": -PLAIN}, "smooth", "unlined", "youthful", "flawless",
              "wrinkle-free", "clear", "supple", "baby-soft", "soft", "dewy", "taut",
              "firm", "glowing"),
    ),
    "beard": _styled("full_beard", _merged(
        _same({"beard": STRONG}, "full", "thick", "bushy", "big", "long", "heavy", "dense",
              "shaggy", "huge", "flowing", "wild", "massive", "great", "magnificent",
              "unkempt", "scraggly", "viking", "patriarchal", "biblical", "lumberjack"),
        _same({"beard": PLAIN, "facial_hair.style": "short_beard"}, "short", "trimmed",
              "short-clipped", "short-cropped", "close-trimmed",
              "neat", "groomed", "neatly trimmed", "well-groomed", "close-cropped", "light",
              "pointed", "small", "thin", "tidy", "clipped", "cropped", "closely trimmed"),
        _colour_entries(_HAIR_COLOURS, "facial_hair.color"),
    )),
    "moustache": _styled("moustache", _facial_hair_descriptors()),
    "goatee": _styled("goatee", _facial_hair_descriptors()),
    "stubble": _styled("stubble", _merged(
        _same({"beard": -0.3}, "light", "faint", "slight", "heavy", "dark", "rough",
              "scratchy", "designer", "days-old", "patchy"),
        _colour_entries(_HAIR_COLOURS, "facial_hair.color"),
    )),
    "hair": _scalp_hair_descriptors(),
    "curls": _styled("curly", _scalp_hair_descriptors(), "hair.style", True),
    "ponytail": _styled("ponytail", _scalp_hair_descriptors(), "hair.style", True),
    "bun": _styled("bun", _scalp_hair_descriptors(), "hair.style", True),
    "afro": _styled("afro", _scalp_hair_descriptors(), "hair.style", True),
    "mohawk": _styled("mohawk", _scalp_hair_descriptors(), "hair.style", True),
    "slick_back": _styled("slicked_back", _scalp_hair_descriptors(), "hair.style", True),
    "bob": _styled("bob", _scalp_hair_descriptors(), "hair.style", True),
    "crop": _styled("buzz", _scalp_hair_descriptors(), "hair.style", True),
    "waves": _styled("long_wavy", _scalp_hair_descriptors(), "hair.style", True),
    "parting": _styled("side_part", _scalp_hair_descriptors(), "hair.style", True),
    "short_cut": _styled("short", _scalp_hair_descriptors(), "hair.style", True),
    "hairline": _merged(
        _same({"hair.style": "receding", "forehead.height": PLAIN}, "receding", "high",
              "thinning", "retreating", "balding"),
        _same({"forehead.height": -PLAIN}, "low"),
    ),
    "freckles": _amounts("skin.freckles"),
    "wrinkles": _amounts("skin.wrinkles"),
    "bags": _amounts("eyes.bags"),
}  # fmt: skip

# Descriptors that need no region: who the person is, build, skin, expression.
PERSON_DESCRIPTORS: dict[str, Values] = _merged(
    # gender (+1 masculine)
    _same({"gender": STRONG}, "man", "men", "male", "guy", "gentleman", "boy", "husband",
          "father", "dad", "grandfather", "grandpa", "king", "prince", "sir", "lad",
          "brother", "son", "uncle", "monk", "priest", "bloke", "fellow", "dude", "mr",
          "patriarch", "nobleman", "lord", "duke", "emperor", "chap", "actor", "waiter",
          "boyfriend", "groom", "widower", "businessman"),
    _same({"gender": -STRONG}, "woman", "women", "female", "lady", "girl", "wife",
          "mother", "mom", "mum", "grandmother", "grandma", "queen", "princess", "madam",
          "sister", "daughter", "aunt", "nun", "lass", "gal", "mrs", "ms", "matriarch",
          "noblewoman", "dame", "duchess", "empress", "actress", "waitress", "witch",
          "girlfriend", "bride", "widow", "businesswoman", "heroine",
          "goddess", "priestess", "maiden", "diva", "ballerina"),
    _same({"gender": PLAIN}, "masculine", "manly", "macho", "boyish", "virile"),
    _same({"gender": -PLAIN}, "feminine", "womanly", "girlish", "ladylike", "effeminate"),
    _same({"gender": 0.0}, "androgynous", "gender-neutral", "genderless"),
    # age (years)
    _same({"age": 1.0}, "baby", "infant", "newborn"),
    _same({"age": 3.0}, "toddler"),
    _same({"age": 8.0}, "child", "kid", "children", "little boy", "little girl"),
    _same({"age": 16.0}, "teenager", "teenage", "teen", "adolescent", "teenaged"),
    _same({"age": 22.0}, "young", "youthful", "youth", "juvenile", "college"),
    _same({"age": 48.0}, "middle-aged", "middle aged", "mature", "middleaged"),
    _same({"age": 68.0}, "old", "older", "senior", "aging", "ageing", "aged", "grizzled",
          "retired", "veteran"),
    _same({"age": 78.0}, "elderly", "ancient", "geriatric", "very old", "grandfather",
          "grandmother", "grandpa", "grandma", "oldster", "centenarian", "crone",
          "decrepit"),
    _same({"age": 6.0, "gender": STRONG}, "little boy"),
    _same({"age": 6.0, "gender": -STRONG}, "little girl"),
    # build
    _same({"weight": PLAIN}, "fat", "heavy", "heavyset", "heavy-set", "overweight",
          "obese", "chubby", "plump", "stout", "portly", "rotund", "pudgy", "chunky",
          "corpulent", "fleshy", "tubby", "round", "rounded", "large", "big", "hefty",
          "paunchy", "beefy", "flabby", "doughy", "well-fed", "full-figured", "zaftig",
          "roly-poly", "podgy", "bulky", "thickset", "burly", "husky", "jowly"),
    _same({"weight": -PLAIN}, "thin", "skinny", "slim", "slender", "gaunt", "lean",
          "bony", "scrawny", "emaciated", "skeletal", "lanky", "svelte", "underweight",
          "wiry", "willowy", "petite", "haggard", "spindly", "rail-thin", "waif", "waifish",
          "slight", "narrow", "starved", "malnourished", "hollow-cheeked", "rangy", "trim"),
    _same({"muscle": PLAIN}, "muscular", "athletic", "brawny", "buff", "ripped", "toned",
          "strong", "powerful", "fit", "sporty", "muscled", "jacked", "hulking",
          "strapping", "sturdy", "rugged", "bodybuilder", "wrestler", "boxer", "soldier",
          "warrior", "brute"),
    _same({"muscle": -PLAIN}, "weak", "frail", "puny", "feeble", "soft", "flabby",
          "delicate", "fragile", "weedy", "out of shape", "unathletic"),
    _same({"weight": PLAIN, "muscle": PLAIN}, "stocky", "burly", "beefy", "bulky", "husky",
          "heavily built", "thickset"),
    _same({"muscle": PLAIN}, "well-built", "powerfully built", "strongly built",
          "well built", "brawny"),
    # skin
    _same({"skin.tone": -STRONG}, "pale", "pale-skinned", "pasty", "porcelain", "pallid",
          "ashen", "albino"),
    _same({"skin.tone": -PLAIN}, "fair", "fair-skinned", "light-skinned", "rosy"),
    _same({"skin.tone": 0.3}, "tanned", "tan", "olive-skinned", "bronzed", "sun-tanned",
          "suntanned", "swarthy", "sunburnt", "sunburned"),
    _same({"skin.tone": STRONG}, "dark-skinned", "brown-skinned", "black-skinned",
          "ebony", "dusky"),
    _same({"skin.freckles": PLAIN}, "freckled", "freckly", "freckle-faced", "speckled"),
    _same({"skin.wrinkles": PLAIN}, "weathered", "wrinkled", "lined", "wrinkly", "craggy",
          "leathery", "weather-beaten", "wizened", "careworn", "furrowed"),
    _same({"chin.cleft": PLAIN}, "cleft", "chin dimple"),
    _same({"hair.color": "red"}, "redhead", "red-head", "ginger", "redheaded"),
    _same({"hair.color": "blond"}, "blond", "blonde"),
    _same({"hair.color": "brown"}, "brunette", "brunet"),
    # scalp hair
    _same({"hair.style": "bald"}, "bald", "bald-headed", "baldheaded", "hairless",
          "shaven-headed", "shaved-headed", "clean-shaven head", "shaved head", "shaven head",
          "bald head", "cue ball", "chrome-domed"),
    _same({"hair.style": "receding"}, "balding", "thinning", "receding"),
    _same({"hair.style": "buzz"}, "crew-cut", "buzz-cut", "close-cropped", "crop-haired"),
    _same({"hair.style": "curly"}, "curly", "curly-haired", "frizzy", "frizzy-haired"),
    _same({"hair.style": "long_wavy"}, "wavy", "wavy-haired"),
    _same({"hair.style": "afro"}, "afro", "afro-haired"),
    _same({"hair.style": "mohawk"}, "mohawked", "mohican"),
    _same({"hair.style": "slicked_back"}, "slick-haired"),
    # facial hair
    _same({"beard": STRONG, "facial_hair.style": "full_beard"}, "bearded", "full-bearded",
          "hirsute", "whiskered", "bushy-bearded", "long-bearded"),
    _same({"beard": -0.3, "facial_hair.style": "stubble"}, "stubbly", "unshaven",
          "unshaved", "scruffy", "scruff", "stubble-faced"),
    _same({"beard": -1.0, "facial_hair.style": "none"}, "clean-shaven", "clean shaven",
          "shaved", "shaven", "beardless", "smooth-shaven", "clean-cut", "smooth-faced",
          "smooth-chinned"),
    _same({"beard": PLAIN, "facial_hair.style": "goatee"}, "goateed"),
    _same({"beard": PLAIN, "facial_hair.style": "moustache"}, "mustachioed",
          "moustachioed"),
    _same({"beard": PLAIN, "facial_hair.style": "short_beard"}, "sideburns",
          "mutton chops", "muttonchops"),
    # expression
    _same({"expression": "smile"}, "smiling", "smile", "smiles", "grinning", "grin",
          "grins", "beaming", "cheerful", "happy", "joyful", "smirking", "smirk",
          "friendly smile", "glad", "pleased", "content", "jolly", "merry", "delighted"),
    _same({"expression": "laugh"}, "laughing", "laugh", "laughs", "chuckling",
          "giggling", "cackling", "guffawing", "roaring with laughter", "in stitches"),
    _same({"expression": "frown"}, "frowning", "frown", "frowns", "scowling", "scowl",
          "scowls", "stern", "grim", "glowering", "glaring", "disapproving", "sullen",
          "grumpy", "brooding", "pensive", "serious", "displeased"),
    _same({"expression": "sad"}, "sad", "sorrowful", "melancholy", "melancholic",
          "unhappy", "crying", "tearful", "weeping", "mournful", "gloomy", "sadness",
          "depressed", "grieving", "despondent", "miserable", "forlorn", "downcast",
          "heartbroken", "dejected", "teary", "sobbing", "sorrow"),
    _same({"expression": "angry"}, "angry", "furious", "enraged", "mad", "irate",
          "snarling", "annoyed", "livid", "raging", "fuming", "irritated", "hostile",
          "anger", "rage", "wrathful", "seething", "outraged", "yelling", "shouting"),
    _same({"expression": "surprised"}, "surprised", "shocked", "astonished", "amazed",
          "startled", "stunned", "astounded", "gasping", "surprise", "flabbergasted",
          "dumbfounded", "awestruck", "agape", "open-mouthed", "wide-eyed"),
    _same({"expression": "disgust"}, "disgusted", "revolted", "repulsed", "sneering",
          "disgust", "grossed out", "nauseated", "contemptuous", "sneer", "appalled"),
    _same({"expression": "fear"}, "afraid", "scared", "frightened", "terrified",
          "fearful", "horrified", "panicked", "fear", "petrified", "anxious", "nervous",
          "alarmed", "worried", "spooked", "panicking", "trembling", "timid"),
    _same({"forehead.height": PLAIN, "hair.style": "receding"}, "balding temples",
          "widow's peak"),
    _same({"chin.prominence": PLAIN}, "underbite", "prognathous", "jutting jaw", "lantern-jawed"),
    _same({"chin.prominence": -PLAIN}, "overbite", "chinless", "weak-chinned"),
    _same({"expression": "neutral"}, "neutral", "expressionless", "blank", "impassive",
          "stoic", "deadpan", "poker-faced", "poker face", "straight-faced", "calm",
          "relaxed", "at rest", "unsmiling", "emotionless", "composed"),
)  # fmt: skip

# Who someone is → ancestry weights over (african, asian, caucasian).
_AFRICAN = {"african": 1.0}
_ASIAN = {"asian": 1.0}
_CAUCASIAN = {"caucasian": 1.0}
ANCESTRY_WORDS: dict[str, dict[str, float]] = {
    **_same(_AFRICAN, "african", "black", "nigerian", "kenyan", "ethiopian", "ghanaian",
            "somali", "sudanese", "congolese", "senegalese", "zulu", "african-american",
            "afro-caribbean", "jamaican", "haitian", "maasai", "tanzanian", "ugandan"),
    **_same(_ASIAN, "asian", "east asian", "chinese", "japanese", "korean", "vietnamese",
            "thai", "filipino", "mongolian", "tibetan", "taiwanese", "cambodian",
            "indonesian", "malaysian", "burmese", "laotian", "asian-american", "nepali",
            "inuit", "han"),
    **_same(_CAUCASIAN, "caucasian", "white", "european", "scandinavian", "irish",
            "german", "italian", "english", "russian", "french", "spanish", "polish",
            "swedish", "norwegian", "danish", "finnish", "dutch", "greek", "scottish",
            "british", "nordic", "slavic", "ukrainian", "portuguese", "welsh", "icelandic",
            "celtic", "viking", "american", "canadian", "australian", "austrian", "swiss",
            "hungarian", "czech", "romanian"),
    **_same({"caucasian": 0.6, "asian": 0.4}, "indian", "south asian", "pakistani",
            "bangladeshi", "sri lankan", "central asian", "kazakh", "uzbek", "turkic"),
    **_same({"caucasian": 0.85, "african": 0.15}, "middle eastern", "arab", "arabic",
            "persian", "iranian", "turkish", "egyptian", "moroccan", "lebanese", "syrian",
            "iraqi", "saudi", "israeli", "jewish", "mediterranean", "armenian",
            "north african", "berber", "algerian", "tunisian"),
    **_same({"caucasian": 0.5, "african": 0.25, "asian": 0.25}, "latino", "latina",
            "hispanic", "mexican", "latin american", "brazilian", "colombian", "peruvian",
            "puerto rican", "cuban", "venezuelan", "argentinian", "chilean", "mixed",
            "mixed-race", "biracial", "multiracial"),
    **_same({"asian": 0.6, "caucasian": 0.4}, "native american", "indigenous",
            "first nations", "polynesian", "hawaiian", "samoan", "maori", "pacific islander",
            "cherokee", "navajo", "aboriginal", "quechua", "mayan", "andean", "tongan",
            "fijian"),
    **_same({"asian": 0.7, "caucasian": 0.3}, "tamil", "punjabi", "bengali"),
    **_same({"african": 0.6, "asian": 0.4}, "melanesian", "papuan", "aboriginal australian"),
    **_same({"caucasian": 0.85, "african": 0.15}, "yemeni"),
    **_same(_ASIAN, "southeast asian"),
}  # fmt: skip

# Skin tones (the code's −1 fair … +1 dark) of peoples the head model's three ancestry
# phenotypes do not hold on their own: without a tone in the text, the ancestry word
# sets it (a tone the text states wins).
ANCESTRY_TONES: dict[str, float] = {
    **dict.fromkeys(("indian", "south asian", "pakistani", "bangladeshi", "sri lankan",
                     "tamil", "punjabi", "bengali", "nepali"), 0.45),
    **dict.fromkeys(("middle eastern", "arab", "arabic", "persian", "iranian", "turkish",
                     "egyptian", "moroccan", "lebanese", "syrian", "iraqi", "saudi",
                     "north african", "berber", "algerian", "tunisian", "yemeni"), 0.15),
    **dict.fromkeys(("latino", "latina", "hispanic", "mexican", "latin american",
                     "brazilian", "colombian", "peruvian", "puerto rican", "cuban",
                     "venezuelan"), 0.2),
    **dict.fromkeys(("native american", "indigenous", "first nations", "cherokee", "navajo",
                     "quechua", "mayan", "andean"), 0.35),
    **dict.fromkeys(("polynesian", "hawaiian", "samoan", "maori", "pacific islander",
                     "tongan", "fijian", "melanesian"), 0.45),
    **dict.fromkeys(("aboriginal", "aboriginal australian", "papuan"), 0.8),
    **dict.fromkeys(("filipino", "indonesian", "malaysian", "thai", "cambodian", "burmese",
                     "laotian", "vietnamese", "southeast asian"), 0.1),
}  # fmt: skip

# Words that scale a descriptor's strength.
INTENSIFIERS: dict[str, float] = {
    "very": 1.5, "extremely": 1.7, "really": 1.4, "incredibly": 1.7, "super": 1.6,
    "exceptionally": 1.7, "unusually": 1.5, "remarkably": 1.5, "strikingly": 1.5,
    "exceedingly": 1.7, "highly": 1.4, "quite": 1.2, "rather": 1.1, "pretty": 1.1,
    "fairly": 1.0, "so": 1.4, "too": 1.4, "notably": 1.3, "particularly": 1.3,
    "especially": 1.3, "truly": 1.4, "distinctly": 1.3, "decidedly": 1.3, "very very": 1.7,
    "amazingly": 1.6, "insanely": 1.7, "ridiculously": 1.7, "absurdly": 1.7,
    "enormously": 1.7, "hugely": 1.6, "massively": 1.6, "most": 1.6, "much": 1.3,
    "far": 1.3, "way": 1.4, "deeply": 1.3, "heavily": 1.3, "strongly": 1.4,
    "noticeably": 1.2, "clearly": 1.1, "visibly": 1.1, "markedly": 1.3, "seriously": 1.4,
    "slightly": 0.5, "somewhat": 0.6, "a bit": 0.5, "a little": 0.5, "a little bit": 0.4,
    "mildly": 0.5, "kind of": 0.6, "sort of": 0.6, "a touch": 0.4, "faintly": 0.4,
    "barely": 0.3, "moderately": 0.7, "marginally": 0.4, "a tad": 0.4, "just a bit": 0.4,
    "subtly": 0.5, "gently": 0.5, "relatively": 0.8, "reasonably": 0.8, "partly": 0.6,
    "a trifle": 0.4, "kinda": 0.6, "sorta": 0.6, "lightly": 0.5, "ever so slightly": 0.3,
}  # fmt: skip

NEGATIONS: frozenset[str] = frozenset({
    "not", "no", "never", "without", "isn't", "aren't", "wasn't", "weren't", "doesn't",
    "don't", "didn't", "hardly", "nor", "neither", "lacks", "lacking", "lack", "free of",
    "devoid of", "none", "nothing",
})  # fmt: skip

# Attributes that say how much of something there is: negating them means "none"
# ("no beard", "without freckles"), not "a little of the opposite".
PRESENCE_ATTRIBUTES: frozenset[str] = frozenset({
    "beard", "skin.freckles", "skin.wrinkles", "chin.cleft", "eyes.bags", "eyes.hooded",
})  # fmt: skip

# How strongly a negated descriptor points the other way ("not wide" is narrowish).
NEGATED_STRENGTH = 0.35

# Comparative phrasing that strengthens the descriptor it precedes or follows.
COMPARATIVE_CUES: frozenset[str] = frozenset({
    "than average", "than usual", "than normal", "than most", "than most people",
    "than typical", "than others", "for his age", "for her age", "for a man",
    "for a woman",
})  # fmt: skip

# Ages said with words.
DECADES: dict[str, float] = {
    "teens": 16, "twenties": 25, "thirties": 35, "forties": 45, "fifties": 55,
    "sixties": 65, "seventies": 75, "eighties": 85, "nineties": 90,
    "20s": 25, "30s": 35, "40s": 45, "50s": 55, "60s": 65, "70s": 75, "80s": 85, "90s": 90,
}  # fmt: skip
DECADE_PARTS: dict[str, float] = {"early": -3.0, "mid": 0.0, "mid-": 0.0, "late": 3.0}
NUMBER_WORDS: dict[str, int] = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip

# Pronouns imply a gender only when the text names none outright.
PRONOUN_GENDER: dict[str, float] = {
    **dict.fromkeys(("he", "him", "his", "himself"), PLAIN),
    **dict.fromkeys(("she", "her", "hers", "herself"), -PLAIN),
}

# Comparison words: "more prominent" strengthens, "less prominent" points the other way.
MORE_WORDS: frozenset[str] = frozenset({"more"})
LESS_WORDS: frozenset[str] = frozenset({"less", "fewer", "lesser"})

# Impressions with no concrete mapping (Describe3D's "abstract" words): phrases
# near these go to ``abstract`` for a later stage instead of being guessed.
IMPRESSIONS: tuple[str, ...] = (
    "kind", "trustworthy", "friendly", "wise", "evil", "menacing", "mysterious",
    "intelligent", "noble", "gentle", "cruel", "sly", "cunning", "confident", "shy",
    "arrogant", "tired", "weary", "sleepy", "dreamy", "innocent", "sinister", "charming",
    "handsome", "beautiful", "pretty", "ugly", "attractive", "plain", "rugged", "elegant",
    "regal", "dignified", "distinguished", "mischievous", "playful", "serene", "fierce",
    "tough", "honest", "shifty", "sneaky", "warm", "cold", "aloof", "haughty", "sweet",
    "lovely", "gorgeous", "cute", "scary", "creepy", "spooky", "heroic", "villainous",
    "sophisticated", "rough", "sleazy", "nerdy", "geeky", "scholarly", "bookish",
    "soulful", "piercing", "intense", "kindly", "stern-looking", "wise-looking",
    "battle-scarred", "scarred", "tattooed", "pierced", "glasses", "spectacles",
    "hat", "earrings", "makeup", "scar", "tattoo", "mole", "birthmark", "wart",
)  # fmt: skip

# Pronouns that point back to the region talked about last ("It is long").
REGION_PRONOUNS: frozenset[str] = frozenset(
    {"it", "they", "them", "its", "their", "those", "these", "both", "each", "one"}
)
# Pronouns and nouns that turn attention back to the person ("She is thin").
PERSON_PRONOUNS: frozenset[str] = frozenset({
    "he", "she", "him", "her", "person", "someone", "somebody", "individual", "character",
    "figure", "people", "human", "subject", "model", "portrait", "i", "me", "you", "we",
})  # fmt: skip

# Words that carry no description: skipped silently rather than reported.
FUNCTION_WORDS: frozenset[str] = frozenset({
    "a", "an", "the", "and", "or", "but", "with", "of", "in", "on", "at", "to", "for",
    "from", "by", "as", "is", "are", "was", "were", "be", "been", "being", "has", "have",
    "had", "having", "who", "whose", "that", "which", "this", "there", "here", "also",
    "looks", "look", "looking", "seems", "seem", "appears", "appear", "set", "sits",
    "sit", "than", "his", "her", "their", "its", "my", "your", "our", "he",
    "she", "they", "it", "him", "them", "s", "'s", "while", "yet", "both", "each", "one",
    "pair", "couple", "over", "under", "above", "below", "into", "onto", "upon", "very",
    "just", "too", "even", "still", "all", "some", "any", "such",
    "like", "bit", "little", "touch", "tad", "got", "gets",
    "get", "wears", "wearing", "wore", "bears", "sports", "sporting", "featuring",
    "features", "feature", "shows", "showing", "show", "made", "make", "do", "does",
    "did", "can", "could", "would", "should", "will", "may", "might", "must", "about",
    "around", "what", "when", "where", "how", "why", "if", "then", "so", "because",
    "though", "although", "whereas", "plus", "along", "together", "quite", "pretty",
    "really", "well", "way", "much", "lot", "lots", "many", "few", "another",
    "other", "same", "own", "either", "slightly", "somewhat", "person",
    "someone", "somebody", "character", "portrait", "people", "years",
    "year", "yo", "y", "o", "i", "me", "you", "we", "us", "these",
    "those", "ever", "always", "often", "sometimes", "usually", "generally",
    "typically", "noticeable", "obvious", "rest", "time", "side", "sides", "shape", "shaped",
    "size", "sized", "tone", "color", "colour", "coloured",
    "colored", "toned", "surface", "area", "part", "parts", "left", "right", "up",
    "down", "out", "back", "front", "forward", "off", "against", "tip", "end",
    "something", "anything", "everything", "gives", "give", "given", "hers", "himself",
    "herself", "themselves", "itself", "anymore", "already", "again", "now", "currently",
    "nowadays", "across", "through", "between", "beneath",
    "behind", "near", "toward", "towards", "within", "throughout", "among", "beside",
    "via", "per", "actually", "additionally", "however", "instead",
    "otherwise", "perhaps", "maybe", "probably", "definitely", "certainly", "overall",
    "mostly", "basically", "honestly", "finally", "oh", "wait", "sorry", "correction",
    "half", "quarter", "mixed", "descent", "heritage", "origin", "ethnicity",
    "background", "please", "create", "generate", "sculpt", "model", "render", "3d",
    "realistic", "photorealistic", "detailed", "image", "photo", "picture", "bust",
    "named", "called", "guy's", "eyes'", "noticeably",
})  # fmt: skip
