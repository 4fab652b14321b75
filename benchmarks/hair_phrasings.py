"""Held-out hair and facial-hair phrasings for evaluating the text parser.

Written apart from the parser's vocabulary, by someone who never saw it: none of the
lexicon, parser or semantic modules were opened while writing this file. The phrases are
meant to be what a person or an artist would naturally write, so that the parser is
measured on wording it was not tuned against.

Plain data only. Run this module directly to validate keys and values and print counts.
"""

HAIR_STYLE_VALUES = (
    "bald",
    "buzz",
    "short",
    "side_part",
    "bob",
    "long_straight",
    "long_wavy",
    "curly",
    "ponytail",
    "bun",
    "afro",
    "receding",
    "mohawk",
    "slicked_back",
)
HAIR_COLOUR_VALUES = (
    "black",
    "brown",
    "auburn",
    "red",
    "blond",
    "platinum",
    "gray",
    "white",
    "blue",
    "pink",
    "green",
    "purple",
)
FACIAL_HAIR_VALUES = ("none", "stubble", "moustache", "goatee", "short_beard", "full_beard")
BEARD_COLOUR_VALUES = ("black", "brown", "red", "blond", "gray", "white")

# Noun phrases usable after "a man with " / "a woman with ".
HAIR_STYLE_PHRASINGS: dict[str, list[str]] = {
    "bald": [
        "a shaved head",
        "a bald head",
        "a head without any hair",
        "a completely hairless scalp",
        "a shiny bald pate",
        "a head shaved smooth",
        "a chrome dome",
        "no hair at all on his head",
    ],
    "buzz": [
        "a buzz cut",
        "closely cropped hair",
        "a crew cut",
        "a number two all over",
        "a military-style buzzcut",
        "a high and tight",
        "a close clipper cut",
        "a butch cut",
    ],
    "short": [
        "short hair",
        "a short haircut",
        "a short back and sides",
        "a pixie cut",
        "hair cut short",
        "a neat, short hairstyle",
        "short, tousled hair",
        "a boyish short cut",
    ],
    "side_part": [
        "a side part",
        "hair parted on the side",
        "a neat side parting",
        "a classic side-parted haircut",
        "a sharp hard part",
        "hair combed over to one side from a deep part",
        "a slick gentleman's side part",
        "a deep side parting",
    ],
    "bob": [
        "a bob cut",
        "a chin-length bob",
        "a sleek, blunt bob",
        "an angled bob",
        "a French bob with a fringe",
        "hair cut in a neat bob",
        "a jaw-length bob",
        "a bobbed hairstyle",
    ],
    "long_straight": [
        "long hair",
        "long straight hair",
        "waist-length hair",
        "long, poker-straight hair",
        "long, silky locks",
        "hair that falls well past the shoulders",
        "long pin-straight tresses",
        "a long, sleek mane",
    ],
    "long_wavy": [
        "long wavy hair",
        "long, loose waves",
        "long beach waves",
        "long hair with soft waves",
        "wavy hair well past the shoulders",
        "long, tousled waves",
        "long, wavy tresses",
        "a long, rippling wavy mane",
    ],
    "curly": [
        "curly hair",
        "tight curls",
        "ringlets",
        "a head of springy curls",
        "corkscrew curls",
        "short curly hair",
        "a mop of curls",
        "bouncy spiral curls",
    ],
    "ponytail": [
        "a ponytail",
        "hair pulled back in a ponytail",
        "a high ponytail",
        "a low, neat ponytail",
        "hair tied back in a tail",
        "a sleek high pony",
        "a swishy ponytail",
        "long hair gathered into a ponytail",
    ],
    "bun": [
        "a bun",
        "hair pulled up into a bun",
        "a tight ballerina bun",
        "a messy top knot",
        "an elegant chignon",
        "a man bun",
        "hair twisted into a knot at the nape",
        "a neat bun at the crown",
    ],
    "afro": [
        "an afro",
        "a big afro",
        "a huge natural afro",
        "a voluminous 'fro",
        "a round, picked-out fro",
        "big, natural afro-textured hair worn out full",
        "a full, rounded afro",
        "an enormous halo of natural hair",
    ],
    "receding": [
        "a receding hairline",
        "thinning hair",
        "a hairline that has crept back",
        "male-pattern balding",
        "hair thinning at the temples",
        "a retreating hairline",
        "a balding crown",
        "a high, receding hairline",
    ],
    "mohawk": [
        "a mohawk",
        "a mohican",
        "a spiky punk mohawk",
        "a strip of hair down the centre of the scalp with the sides shaved",
        "a crest of liberty spikes",
        "a towering, foot-high mohawk",
        "a narrow mohawk with the sides clipped to the skin",
        "a punk crest of hair running from forehead to nape",
    ],
    "slicked_back": [
        "slicked-back hair",
        "hair slicked back",
        "hair gelled straight back",
        "greased-back hair",
        "hair brushed straight back off the forehead",
        "wet-look hair combed back flat",
        "pomaded hair combed straight back",
        "a sleek, mobster-style slick-back",
    ],
}

# Colour words or short phrases that would precede "hair".
HAIR_COLOUR_PHRASINGS: dict[str, list[str]] = {
    "black": ["jet-black", "raven", "inky black", "coal-black", "blue-black", "glossy black"],
    "brown": [
        "mousy brown",
        "chestnut",
        "chocolate-brown",
        "light brown",
        "dark brunette",
        "walnut-brown",
    ],
    "auburn": [
        "auburn",
        "deep auburn",
        "reddish-brown",
        "mahogany",
        "rich coppery-brown",
        "dark auburn",
    ],
    "red": ["fiery red", "ginger", "carrot-orange", "copper", "flame-red", "bright red"],
    "blond": [
        "golden blonde",
        "strawberry blonde",
        "sandy blond",
        "honey-blonde",
        "dirty blonde",
        "flaxen",
    ],
    "platinum": [
        "platinum blonde",
        "bleached platinum",
        "icy platinum",
        "white-blonde",
        "peroxide platinum",
        "platinum",
    ],
    "gray": ["silver", "grey", "steel-grey", "salt-and-pepper", "iron-grey", "greying"],
    "white": ["snow-white", "white", "pure white", "cotton-white", "stark white", "wispy white"],
    "blue": ["dyed blue", "electric-blue", "pastel blue", "cobalt-blue", "sky-blue", "neon blue"],
    "pink": [
        "dyed pink",
        "bubblegum-pink",
        "pastel pink",
        "hot-pink",
        "rose-pink",
        "cotton-candy pink",
    ],
    "green": [
        "dyed green",
        "emerald-green",
        "neon green",
        "lime-green",
        "mint-green",
        "forest-green",
    ],
    "purple": ["dyed purple", "violet", "lavender", "lilac", "deep purple", "ultraviolet"],
}

# Noun phrases usable after "a man with ".
FACIAL_HAIR_PHRASINGS: dict[str, list[str]] = {
    "none": [
        "a clean-shaven face",
        "a smooth, beardless chin",
        "no facial hair",
        "a freshly shaved face",
        "a smooth-shaven jaw",
        "not a whisker on his face",
        "a bare chin and upper lip",
        "a baby-smooth, hairless face",
    ],
    "stubble": [
        "stubble",
        "a five o'clock shadow",
        "a few days' stubble",
        "designer stubble",
        "a stubbly jaw",
        "a scruffy shadow of stubble",
        "an unshaven, bristly chin",
        "a light dusting of stubble along his jaw",
    ],
    "moustache": [
        "a moustache",
        "a handlebar moustache",
        "a bushy walrus mustache",
        "a pencil moustache",
        "a thick mustache but no beard",
        "a clipped toothbrush moustache",
        "a waxed, curled moustache",
        "a chevron mustache",
    ],
    "goatee": [
        "a goatee",
        "a neat goatee",
        "a chin beard",
        "a pointed goatee",
        "a small tuft of beard on the chin only",
        "a Van Dyke",
        "a billy-goat beard",
        "a circle beard",
    ],
    "short_beard": [
        "a short beard",
        "a neatly trimmed beard",
        "a close-cropped beard",
        "a short boxed beard",
        "a tidy, well-groomed short beard",
        "a closely trimmed beard",
        "a short-clipped beard",
        "a neat corporate beard",
    ],
    "full_beard": [
        "a full beard",
        "a bushy beard",
        "a long flowing beard",
        "a big shaggy beard",
        "a thick, full beard",
        "a long Viking-style beard",
        "a wild, untamed lumberjack beard",
        "a beard down to his chest",
    ],
}

# Phrases naming a beard's colour.
BEARD_COLOUR_PHRASINGS: dict[str, list[str]] = {
    "black": [
        "a jet-black beard",
        "a coal-black beard",
        "a black beard",
        "a dark, inky-black beard",
    ],
    "brown": [
        "a brown beard",
        "a chestnut-brown beard",
        "a light brown beard",
        "a dark brown beard",
    ],
    "red": ["a fiery red beard", "a ginger beard", "a copper-red beard", "a rusty red beard"],
    "blond": [
        "a blond beard",
        "a sandy-blond beard",
        "a golden beard",
        "a fair, straw-coloured beard",
    ],
    "gray": [
        "a grizzled grey beard",
        "a salt-and-pepper beard",
        "a silver beard",
        "an iron-grey beard",
    ],
    "white": ["a snowy white beard", "a white beard", "a pure white beard", "a Santa-white beard"],
}

# Complete descriptions with the values they clearly state (only those keys).
HAIR_DESCRIPTIONS: list[tuple[str, dict[str, str]]] = [
    (
        "a weathered fisherman in his seventies with a bulbous nose and a bushy white beard",
        {"facial_hair.style": "full_beard", "facial_hair.color": "white"},
    ),
    (
        "a teenage girl with long wavy auburn hair and freckles",
        {"hair.style": "long_wavy", "hair.color": "auburn"},
    ),
    (
        "a bald middle-aged Nigerian man with a neat goatee",
        {"hair.style": "bald", "facial_hair.style": "goatee"},
    ),
    (
        "a young Korean woman with a sleek black bob and heavy bangs",
        {"hair.style": "bob", "hair.color": "black"},
    ),
    (
        "an elderly Irish farmer with a receding hairline, wispy white hair "
        "and a clean-shaven face",
        {"hair.style": "receding", "hair.color": "white", "facial_hair.style": "none"},
    ),
    (
        "a Japanese salaryman in his forties with a neat side part in his jet-black hair "
        "and no facial hair",
        {"hair.style": "side_part", "hair.color": "black", "facial_hair.style": "none"},
    ),
    (
        "a little Swedish boy of six with short platinum-blond hair and a gap-toothed grin",
        {"hair.style": "short", "hair.color": "platinum"},
    ),
    (
        "a Ghanaian grandmother with a big silver afro and deep laugh lines",
        {"hair.style": "afro", "hair.color": "gray"},
    ),
    (
        "a punk teenager with a bright pink ponytail and a nose ring",
        {"hair.style": "ponytail", "hair.color": "pink"},
    ),
    (
        "a stern Marine drill sergeant, clean-shaven, with a buzz cut and a square jaw",
        {"hair.style": "buzz", "facial_hair.style": "none"},
    ),
    (
        "a Scottish man in his thirties with fiery red hair cut short and a trimmed ginger beard",
        {
            "hair.style": "short",
            "hair.color": "red",
            "facial_hair.style": "short_beard",
            "facial_hair.color": "red",
        },
    ),
    (
        "an old Indian holy man with a long white beard and a bald head, wearing round spectacles",
        {"hair.style": "bald", "facial_hair.style": "full_beard", "facial_hair.color": "white"},
    ),
    (
        "a Brazilian woman in her twenties with tight dark-brown curls",
        {"hair.style": "curly", "hair.color": "brown"},
    ),
    (
        "a Mexican abuela in her eighties with her white hair pulled back into a tight bun",
        {"hair.style": "bun", "hair.color": "white"},
    ),
    (
        "a lanky Dutch student with a messy man bun and a scruffy blond beard",
        {"hair.style": "bun", "facial_hair.color": "blond"},
    ),
    (
        "a Chinese grandfather with thinning grey hair and a wispy goatee",
        {"hair.style": "receding", "hair.color": "gray", "facial_hair.style": "goatee"},
    ),
    (
        "a ten-year-old Nigerian girl with a big round afro and a shy smile",
        {"hair.style": "afro"},
    ),
    (
        "a Victorian gentleman with a waxed handlebar moustache and slick dark-brown hair "
        "with a side parting",
        {"hair.style": "side_part", "hair.color": "brown", "facial_hair.style": "moustache"},
    ),
    (
        "a French actress with a chin-length platinum bob and red lipstick",
        {"hair.style": "bob", "hair.color": "platinum"},
    ),
    (
        "a middle-aged Egyptian man with short black hair and a full salt-and-pepper beard",
        {
            "hair.style": "short",
            "hair.color": "black",
            "facial_hair.style": "full_beard",
            "facial_hair.color": "gray",
        },
    ),
    (
        "a lanky nineteen-year-old lad with patchy stubble and short, messy brown hair",
        {"hair.style": "short", "hair.color": "brown", "facial_hair.style": "stubble"},
    ),
    (
        "a Filipino gamer girl in her early twenties with electric-blue hair in a high ponytail",
        {"hair.style": "ponytail", "hair.color": "blue"},
    ),
    (
        "an Ethiopian marathon runner with a shaved head and a thin moustache",
        {"hair.style": "bald", "facial_hair.style": "moustache"},
    ),
    (
        "a kindly old Jewish tailor with a long grey beard and a black kippah",
        {"facial_hair.style": "full_beard", "facial_hair.color": "gray"},
    ),
    (
        "a Norwegian woman in her fifties whose silver hair hangs long and straight",
        {"hair.style": "long_straight", "hair.color": "gray"},
    ),
    (
        "a Cuban trumpet player with a pencil moustache and slicked-back black hair",
        {"hair.style": "slicked_back", "hair.color": "black", "facial_hair.style": "moustache"},
    ),
    (
        "a seventy-year-old Italian nonna with short curly white hair and an apron",
        {"hair.style": "curly", "hair.color": "white"},
    ),
    (
        "a twelve-year-old Vietnamese boy with a black buzz cut",
        {"hair.style": "buzz", "hair.color": "black"},
    ),
    (
        "a Russian weightlifter with a blond crew cut and a square, stubbly jaw",
        {"hair.style": "buzz", "hair.color": "blond", "facial_hair.style": "stubble"},
    ),
    (
        "an Aboriginal Australian elder with curly grey hair and a bushy grey beard",
        {
            "hair.style": "curly",
            "hair.color": "gray",
            "facial_hair.style": "full_beard",
            "facial_hair.color": "gray",
        },
    ),
    (
        "a young Irish woman with long, loose copper waves and green eyes",
        {"hair.style": "long_wavy", "hair.color": "red"},
    ),
    (
        "a Lebanese man in his thirties with a side part and a neatly trimmed black beard",
        {
            "hair.style": "side_part",
            "facial_hair.style": "short_beard",
            "facial_hair.color": "black",
        },
    ),
    (
        "a goth girl with violet hair cut in a blunt bob and heavy eyeliner",
        {"hair.style": "bob", "hair.color": "purple"},
    ),
    (
        "a Kenyan businessman in his fifties with a receding hairline and a neat grey "
        "moustache, but no beard",
        {
            "hair.style": "receding",
            "facial_hair.style": "moustache",
            "facial_hair.color": "gray",
        },
    ),
    (
        "a sixteen-year-old skater with messy short hair dyed lime-green",
        {"hair.style": "short", "hair.color": "green"},
    ),
    (
        "a Samoan rugby player with a long black ponytail and a thick, full black beard",
        {
            "hair.style": "ponytail",
            "hair.color": "black",
            "facial_hair.style": "full_beard",
            "facial_hair.color": "black",
        },
    ),
    (
        "a Polish great-grandmother of ninety-eight with a neat white bun and wire-rimmed glasses",
        {"hair.style": "bun", "hair.color": "white"},
    ),
    (
        "an Argentine tango dancer with glossy raven hair pulled into a low chignon",
        {"hair.style": "bun", "hair.color": "black"},
    ),
    (
        "an Inuit hunter in his sixties with long straight black hair and a sparse grey moustache",
        {
            "hair.style": "long_straight",
            "hair.color": "black",
            "facial_hair.style": "moustache",
            "facial_hair.color": "gray",
        },
    ),
    (
        "a Swedish woman in her thirties with waist-length white-blonde hair",
        {"hair.style": "long_straight", "hair.color": "platinum"},
    ),
    (
        "a Tibetan monk with a shaved head and a smooth, beardless face",
        {"hair.style": "bald", "facial_hair.style": "none"},
    ),
    (
        "an Englishman in his forties whose ginger hair is thinning at the temples, "
        "with a ginger goatee",
        {
            "hair.style": "receding",
            "hair.color": "red",
            "facial_hair.style": "goatee",
            "facial_hair.color": "red",
        },
    ),
    (
        "a Puerto Rican teenager with a huge natural afro dyed deep purple",
        {"hair.style": "afro", "hair.color": "purple"},
    ),
    (
        "a Pakistani uncle in his sixties with a henna-dyed orange-red beard",
        {"facial_hair.color": "red"},
    ),
    (
        "a toddler with wispy blond curls and chubby cheeks",
        {"hair.style": "curly", "hair.color": "blond"},
    ),
    (
        "a K-pop idol with pastel pink hair in a short, tousled cut and a clean-shaven face",
        {"hair.style": "short", "hair.color": "pink", "facial_hair.style": "none"},
    ),
    (
        "a grizzled Texas rancher with a silver crew cut and a drooping walrus moustache, no beard",
        {"hair.style": "buzz", "hair.color": "gray", "facial_hair.style": "moustache"},
    ),
    (
        "a Turkish barista in his twenties with a short, dark-brown boxed beard",
        {"facial_hair.style": "short_beard", "facial_hair.color": "brown"},
    ),
    (
        "a Finnish grandmother whose long hair has gone completely white, worn loose and straight",
        {"hair.style": "long_straight", "hair.color": "white"},
    ),
    (
        "a teenage cosplayer with long, wavy sky-blue hair",
        {"hair.style": "long_wavy", "hair.color": "blue"},
    ),
    (
        "a Greek fisherman with a mop of dark curls and a bushy chestnut-brown beard",
        {
            "hair.style": "curly",
            "facial_hair.style": "full_beard",
            "facial_hair.color": "brown",
        },
    ),
    (
        "a Danish woman in her thirties with sandy blonde hair that is not long, "
        "cropped just above her ears",
        {"hair.style": "short", "hair.color": "blond"},
    ),
    (
        "a heavy-set German butcher in his sixties with a receding hairline, grey hair "
        "and no beard or moustache",
        {"hair.style": "receding", "hair.color": "gray", "facial_hair.style": "none"},
    ),
    (
        "a Colombian girl of about nine with long, wavy chocolate-brown hair tied in a ponytail",
        {"hair.style": "ponytail", "hair.color": "brown"},
    ),
    (
        "a middle-aged Iranian man with short black hair and a short beard without a moustache",
        {"hair.style": "short", "hair.color": "black", "facial_hair.style": "short_beard"},
    ),
    (
        "a Yoruba grandfather with a shaved head and a snow-white goatee",
        {"hair.style": "bald", "facial_hair.style": "goatee", "facial_hair.color": "white"},
    ),
    (
        "a burly Icelandic man with long blond hair and a big, full blond beard",
        {
            "hair.style": "long_straight",
            "hair.color": "blond",
            "facial_hair.style": "full_beard",
            "facial_hair.color": "blond",
        },
    ),
    (
        "an art-school girl with emerald-green hair in a pixie cut",
        {"hair.style": "short", "hair.color": "green"},
    ),
    (
        "a Canadian woman in her forties with deep auburn hair swept into a side part",
        {"hair.style": "side_part", "hair.color": "auburn"},
    ),
    (
        "a young Welsh woman with long, tousled waves the colour of mahogany",
        {"hair.style": "long_wavy", "hair.color": "auburn"},
    ),
    (
        "a British punk rocker in the eighties with a spiky green mohawk and safety-pin earrings",
        {"hair.style": "mohawk", "hair.color": "green"},
    ),
    (
        "a burly Lithuanian bouncer with a mohican and a thick black goatee",
        {"hair.style": "mohawk", "facial_hair.style": "goatee", "facial_hair.color": "black"},
    ),
    (
        "an Italian-American mob boss in his sixties with grey hair greased straight back "
        "and a clean-shaven face",
        {"hair.style": "slicked_back", "hair.color": "gray", "facial_hair.style": "none"},
    ),
]


if __name__ == "__main__":
    from collections import Counter

    def _check_phrasings(name, table, values, per_value):
        assert set(table) == set(values), (name, set(table) ^ set(values))
        seen = set()
        for value, phrases in table.items():
            assert len(phrases) == per_value, (name, value, len(phrases))
            for phrase in phrases:
                assert isinstance(phrase, str) and phrase == phrase.strip() and phrase, phrase
                key = phrase.lower()
                assert key not in seen, (name, "duplicate phrase", phrase)
                seen.add(key)
        print(f"{name}: {len(table)} values x {per_value} = {len(seen)} phrases")

    _check_phrasings("HAIR_STYLE_PHRASINGS", HAIR_STYLE_PHRASINGS, HAIR_STYLE_VALUES, 8)
    _check_phrasings("HAIR_COLOUR_PHRASINGS", HAIR_COLOUR_PHRASINGS, HAIR_COLOUR_VALUES, 6)
    _check_phrasings("FACIAL_HAIR_PHRASINGS", FACIAL_HAIR_PHRASINGS, FACIAL_HAIR_VALUES, 8)
    _check_phrasings("BEARD_COLOUR_PHRASINGS", BEARD_COLOUR_PHRASINGS, BEARD_COLOUR_VALUES, 4)

    allowed = {
        "hair.style": HAIR_STYLE_VALUES,
        "hair.color": HAIR_COLOUR_VALUES,
        "facial_hair.style": FACIAL_HAIR_VALUES,
        "facial_hair.color": BEARD_COLOUR_VALUES,
    }
    assert len(HAIR_DESCRIPTIONS) == 63, len(HAIR_DESCRIPTIONS)
    texts = [text for text, _ in HAIR_DESCRIPTIONS]
    assert len(set(texts)) == len(texts), "duplicate description"
    coverage = {key: Counter() for key in allowed}
    for text, expected in HAIR_DESCRIPTIONS:
        assert expected, text
        for key, value in expected.items():
            assert key in allowed, (text, key)
            assert value in allowed[key], (text, key, value)
            coverage[key][value] += 1
        if expected.get("hair.style") == "bald":
            assert "hair.color" not in expected, text
    for key, values in allowed.items():
        for value in values:
            assert coverage[key][value] >= 2, (key, value, coverage[key][value])
    print(f"HAIR_DESCRIPTIONS: {len(HAIR_DESCRIPTIONS)} descriptions")
    for key, counts in coverage.items():
        total = sum(counts.values())
        detail = ", ".join(f"{v}={counts[v]}" for v in allowed[key])
        print(f"  {key} ({total}): {detail}")
    print("all checks passed")
