"""Write ``demo_corpus.json``: brand mentions of the fictional carrier Lumen Mobile.

Deterministic (seeded), so the committed file is reproducible::

    python listener/platforms/demo/make_demo_corpus.py

The corpus is what the offline demo's simulated X and Reddit hold: about 400 mentions
over the 14 days before ``ANCHOR`` with mixed sentiment, an outage spike about two
and a half days before the anchor, a dozen repeat customers with story arcs (three of
them with the same handle on X and Reddit), a tech journalist and a celebrity with
large followings, some non-English posts, emoji-only texts and hostile texts that
the web app must render safely.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SEED = 20250314
ANCHOR = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
OUT = Path(__file__).with_name("demo_corpus.json")
DAY = 24 * 60
SPIKE_AGE = int(2.5 * DAY)

BRAND = "@lumenmobile"
SUPPORT = "u/lumenmobile_support"
OWN_SUB = "LumenMobile"
TECH_SUB = "cellphones"

CITIES = ["Denver", "Austin", "Phoenix", "Columbus", "Portland", "Tampa", "Raleigh", "Sacramento",
          "Boise", "Omaha", "Madison", "Tucson", "Salt Lake", "Albuquerque", "Spokane", "Reno"]
NEIGHBOURHOODS = ["downtown", "the north side", "my apartment", "the office", "campus", "the airport",
                  "the suburbs", "my parents' place"]
PHONES = ["Pixel 8", "iPhone 15", "Galaxy S24", "iPhone 13 mini", "Pixel 7a", "Galaxy A54", "iPhone 16 Pro",
          "Moto G Power"]
COUNTRIES = ["Mexico", "Portugal", "Japan", "Canada", "Italy", "Iceland", "Costa Rica", "Germany"]
AGENTS = ["Jess", "Marcus", "Ana", "Theo", "Priya", "Sam", "Dolores"]
RIVALS = ["Cobalt Wireless", "Northstar", "Pulse Mobile", "Brightline"]
PLANS = ["Unlimited Plus", "Essentials", "Family 4", "Prepaid 35", "Unlimited Max"]
AMOUNTS = ["$12.99", "$35", "$78", "$140", "$19.50", "$64", "$210"]
STREETS = ["Colfax", "Main St", "5th Ave", "Oak Blvd", "Mill Ave", "Burnside", "Elm St"]

FIRST = ["alex", "jordan", "sam", "casey", "riley", "morgan", "taylor", "jamie", "drew", "quinn", "avery",
         "kim", "lee", "pat", "rosa", "nina", "omar", "luis", "ivy", "zoe", "ben", "eli", "maya", "noah",
         "tess", "gabe", "hana", "raul", "cleo", "finn", "ada", "milo", "june", "remy", "sage", "tariq"]
SUFFIX = ["", "_", "x", "_tx", "_az", "88", "92", "_co", "2k", "_pdx", "mcg", "_irl", "_writes", "_b", "01"]
BIOS = ["Nurse. Dog mom. Coffee first.", "Software dev. Opinions my own.", "Dad of 3, grill enthusiast.",
        "Grad student, perpetually tired.", "Small business owner | bakery", "Runner, reader, rain lover.",
        "Teacher (5th grade). Be kind.", "Photographer on the road.", "Retired and loving it.",
        "Gamer. Streams on weekends.", "Real estate agent, always on the phone.", "", "", "",
        "Music, hikes, bad puns.", "Sales @ a company you've heard of", "ER tech. Night shift forever."]


@dataclass(frozen=True)
class Person:
    handle: str
    name: str
    followers: int
    bio: str = ""
    karma: int = 0


class Corpus:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.items: list[dict[str, Any]] = []

    def _base(self, person: Person, age: int, sentiment: str, tags: tuple[str, ...], lang: str) -> dict[str, Any]:
        created = ANCHOR - timedelta(minutes=max(age, 3), seconds=self.rng.randrange(60))
        item: dict[str, Any] = {
            "author": person.handle,
            "display_name": person.name,
            "followers": person.followers,
            "bio": person.bio,
            "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "lang": lang,
            "intended_sentiment": sentiment,
        }
        if tags:
            item["tags"] = list(tags)
        return item

    def tweet(self, person: Person, text: str, age: int, sentiment: str, *tags: str, lang: str = "en") -> None:
        if len(text) > 280:
            raise ValueError(f"tweet over 280 characters: {text[:60]!r}")
        self.items.append({"platform": "x", "kind": "tweet", **self._base(person, age, sentiment, tags, lang),
                           "text": text})

    def post(self, person: Person, subreddit: str, title: str, body: str, age: int, sentiment: str,
             *tags: str, lang: str = "en") -> None:
        self.items.append({"platform": "reddit", "kind": "post", **self._base(person, age, sentiment, tags, lang),
                           "subreddit": subreddit, "title": title, "text": body, "karma": person.karma})

    def comment(self, person: Person, subreddit: str, body: str, age: int, sentiment: str, *tags: str,
                lang: str = "en") -> None:
        if len(body) > 10_000:
            raise ValueError("comment over 10,000 characters")
        self.items.append({"platform": "reddit", "kind": "comment",
                           **self._base(person, age, sentiment, tags, lang),
                           "subreddit": subreddit, "text": body, "karma": person.karma})


def slots(rng: random.Random) -> dict[str, object]:
    """One draw of every placeholder, so a post's title and body agree on the phone, city..."""
    return {
        "brand": BRAND, "support": SUPPORT, "city": rng.choice(CITIES), "hood": rng.choice(NEIGHBOURHOODS),
        "phone": rng.choice(PHONES), "country": rng.choice(COUNTRIES), "agent": rng.choice(AGENTS),
        "rival": rng.choice(RIVALS), "plan": rng.choice(PLANS), "amount": rng.choice(AMOUNTS),
        "street": rng.choice(STREETS), "hours": rng.choice([2, 3, 5, 6, 9, 14]), "days": rng.choice([2, 3, 4, 6]),
        "mins": rng.choice([5, 8, 10, 15, 20]), "waited": rng.choice([45, 60, 90, 120]),
        "slow": rng.choice(["0.4", "0.8", "1.2", "2", "3.5"]), "fast": rng.choice(["210", "340", "512", "780", "910"]),
    }


def fill(rng: random.Random, template: str) -> str:
    return template.format(**slots(rng))


# -- one-off mentions by theme: (sentiment, template) -------------------------------------

X_THEMES: dict[str, list[tuple[str, str]]] = {
    "outage": [
        ("negative", "{brand} no service in {city} since this morning. Again. What is going on?"),
        ("negative", "Third dropped call in an hour. {brand} is your network held together with tape?"),
        ("negative", "{brand} SOS only in {hood}. I work from home, this costs me actual money."),
        ("negative", "is {brand} down or is it just me? zero bars in {city}"),
        ("negative", "{brand} data has been crawling at {slow} Mbps all day in {city}. Paying for unlimited btw"),
        ("negative", "Missed a job interview call because {brand} decided to drop everything. Thanks a lot."),
        ("neutral", "{brand} any ETA on the outage in {city}? Your status page says all green."),
    ],
    "billing": [
        ("negative", "{brand} why did my bill jump {amount} this month with zero explanation?"),
        ("negative", "Charged a {amount} 'activation fee' on a line I activated MYSELF online. {brand} come on."),
        ("negative", "{brand} my autopay discount disappeared and chat keeps disconnecting me. Unbelievable."),
        ("negative", "The promo credit {brand} promised me 3 months ago still isn't on my bill. 4th time asking."),
        ("negative", "Paying {brand} {amount} extra for a 'regulatory recovery fee'. Recover this 🖕"),
        ("neutral", "{brand} does the {plan} plan include taxes and fees or is that extra?"),
    ],
    "praise": [
        ("positive", "Shoutout to {agent} at {brand} support, fixed my eSIM in {mins} min. Actual human, real help."),
        ("positive", "Switched from {rival} to {brand} last month and my bill went down and coverage went up. Rare W."),
        ("positive", "{brand} support chat was genuinely great today. Quick, friendly, solved it. Thank you {agent}!"),
        ("positive", "Ok I'll admit it, {brand} 5G in {city} is fast. Got {fast} Mbps at the coffee shop."),
        ("positive", "Props to {brand} for the outage credit without me even asking."),
        ("positive", "The {city} {brand} store on {street} is the best phone store experience I've had. In and out."),
    ],
    "question": [
        ("neutral", "{brand} does wifi calling work on the {phone}? Can't find the toggle."),
        ("neutral", "Thinking about {brand} for my family. Anyone have experience with coverage in {city}?"),
        ("neutral", "{brand} what's the roaming rate in {country}? Heading there next week."),
        ("neutral", "{brand} can I keep my number if I move to {plan}?"),
        ("neutral", "How long does a number port to {brand} usually take? Started one this morning."),
        ("neutral", "{brand} is there a student discount?"),
        ("neutral", "Does {brand} support eSIM on the {phone} yet?"),
    ],
    "sarcasm": [
        ("negative", "Love paying {amount} a month for one bar of 5G. Thanks {brand} 🙃"),
        ("negative", "Great job {brand}, third outage this week. Really going for the record."),
        ("negative", "Nothing says premium network like {brand} dropping my call in the middle of {city}. Flawless."),
        ("negative", "Wow {brand} hold music for {waited} minutes, truly a spa experience"),
        ("negative", "{brand} 'unlimited' data, throttled after 2 hours of maps. Unlimited vibes I guess"),
    ],
    "roaming": [
        ("positive", "Roaming with {brand} in {country} just worked. Landed, turned phone on, done. Love it."),
        ("negative", "Came back from {country} to a {amount} roaming bill. {brand} the 'travel pass' was on!!"),
        ("neutral", "{brand} do I need to turn on anything before flying to {country} or does roaming just work?"),
        ("mixed", "{brand} roaming in {country} works but it's 3G speeds. Better than nothing I suppose."),
    ],
    "esim": [
        ("negative", "{brand} eSIM transfer to my new {phone} failed twice and now I have no service on either phone"),
        ("positive", "eSIM activation on {brand} took literally 2 minutes. QR code, done. Impressed."),
        ("negative", "Why does {brand} need me to visit a store to move an eSIM?? It's 2025"),
        ("neutral", "{brand} can I have two eSIM lines on the {phone}?"),
    ],
    "store": [
        ("negative", "Waited {waited} minutes at the {brand} store in {city} to be told to call support."),
        ("positive", "The folks at the {brand} store on {street} in {city} saved my photos AND my sanity. 10/10"),
        ("negative", "{brand} store employee tried to sell me insurance 4 times while I was asking about an outage"),
        ("mixed", "{brand} store visit: staff was lovely, wait was {waited} min, problem still not fixed"),
    ],
    "coverage": [
        ("positive", "Finally got 5G at {hood} thanks to whatever {brand} did last week. Night and day."),
        ("negative", "5G icon on, speedtest says {slow} Mbps. {brand} what does 5G even mean anymore"),
        ("negative", "Hiking outside {city} and {brand} has zero coverage while my friend on {rival} has full bars"),
        ("neutral", "{brand} is the new tower near {city} live yet? Map says 'coming soon' since November"),
    ],
}

X_KEYWORD_ONLY: list[tuple[str, str]] = [
    ("neutral", "Anyone here use Lumen Mobile? Thinking of switching from {rival}."),
    ("negative", "lumen mobile is down again in {city} lol of course"),
    ("positive", "lumen mobile has been solid for me in {city} for 2 years fwiw"),
    ("negative", "never going with lumen mobile again, the porting process was a nightmare"),
    ("neutral", "is lumenmobile any good for international travel?"),
    ("mixed", "Lumen Mobile: cheap, decent in cities, useless in the mountains. Pick your poison."),
    ("negative", "My roommate's lumen mobile phone has had no signal all weekend #LumenMobile"),
    ("positive", "#LumenMobile customer service actually called me back when they said they would. shocked."),
]

REDDIT_POSTS: list[tuple[str, str, str, str]] = [
    # (subreddit, sentiment, title, body)
    (OWN_SUB, "negative", "Outage in {city} again?", "No service since about 7am. Restarted, toggled airplane mode, "
     "reset network settings. Nothing. Anyone else in {city}?"),
    (OWN_SUB, "negative", "Charged {amount} for a line I cancelled", "Cancelled a line last month in the app, got the "
     "confirmation email, and this month's bill still has it. Chat told me to call, phone told me to use chat."),
    (OWN_SUB, "neutral", "Wifi calling on the {phone}?", "Does anyone have wifi calling working on the {phone}? "
     "The toggle is greyed out for me. On {plan}."),
    (OWN_SUB, "positive", "Shoutout to the {city} store", "Went in expecting a fight over my cracked screen claim and "
     "{agent} sorted everything out in 20 minutes. Didn't try to upsell me once."),
    (OWN_SUB, "neutral", "Roaming in {country} - what should I expect?", "Flying out next month. Is the travel pass "
     "worth it or should I just buy a local SIM? How are the speeds?"),
    (OWN_SUB, "negative", "eSIM transfer bricked my service", "Tried moving my eSIM to a new {phone}. Old phone "
     "deactivated, new phone says 'No SIM'. Been {hours} hours. Support says 24-48h. I need my phone for work."),
    (OWN_SUB, "mixed", "5G in {city}: honest review after 3 months", "Downtown it's great, {fast} Mbps regularly. "
     "Five minutes out of downtown it falls back to LTE and sometimes nothing. Price is still good though."),
    (OWN_SUB, "negative", "Autopay discount removed without notice", "My bill went up {amount} because the autopay "
     "discount vanished. Autopay is still on. Anyone else seeing this?"),
    (OWN_SUB, "neutral", "Switching from {rival}, anything I should know?", "Family of 4, mostly in {city}. Planning "
     "to port all lines on {plan}. Any gotchas with porting?"),
    (OWN_SUB, "positive", "Outage credit showed up automatically", "Just noticed a credit on my bill for last week's "
     "outage. Didn't have to ask. Honestly didn't expect that."),
    (TECH_SUB, "neutral", "Lumen Mobile vs {rival} in {city}?", "Looking at both. Lumen Mobile is cheaper but I've "
     "heard mixed things about coverage. Anyone with real experience?"),
    (TECH_SUB, "negative", "Lumen Mobile throttling hotspot hard", "On Lumen Mobile {plan}. Hotspot gets capped at "
     "{slow} Mbps after like 5GB even though the plan says 30GB. Anyone else?"),
    (TECH_SUB, "positive", "Lumen Mobile eSIM activation was painless on the {phone}", "Scanned a QR code, had "
     "service in two minutes. Way easier than my last carrier."),
    (TECH_SUB, "neutral", "Which MVNO uses the same towers as Lumen Mobile?", "Trying to figure out coverage maps. "
     "Does Lumen Mobile run its own network in {city} or lease?"),
    (TECH_SUB, "negative", "{phone} keeps dropping to 3G on Lumen Mobile", "Started after the last update. "
     "Reset network settings, swapped SIM, same thing. Lumen Mobile says it's the phone, the phone says it's them."),
]

REDDIT_COMMENTS: list[tuple[str, str, str]] = [
    # (subreddit, sentiment, body)
    (OWN_SUB, "negative", "Same here in {city}. Zero bars since the morning."),
    (OWN_SUB, "negative", "{support} can you look into this? Ticket has been open {days} days."),
    (OWN_SUB, "neutral", "{support} is there a known issue with wifi calling on the {phone}?"),
    (OWN_SUB, "positive", "{support} thanks for the quick fix yesterday, everything works now."),
    (OWN_SUB, "negative", "Called 3 times, got 3 different answers. Classic."),
    (OWN_SUB, "neutral", "Try turning off 5G in settings and back on. Fixed it for me on the {phone}."),
    (OWN_SUB, "positive", "Had the opposite experience honestly, support was great when I called."),
    (OWN_SUB, "negative", "{support} my bill still shows the cancelled line. How many times do I need to ask?"),
    (OWN_SUB, "neutral", "Reset network settings fixed it for me, worth a shot."),
    (OWN_SUB, "mixed", "Coverage is fine in {city} but billing is a mess every single month."),
    (OWN_SUB, "negative", "{support} waiting {waited} minutes on hold right now. Any chance someone can DM me?"),
    (OWN_SUB, "positive", "The {city} store is great, ask for {agent}."),
    (OWN_SUB, "neutral", "{support} does the travel pass cover {country}?"),
    (TECH_SUB, "neutral", "Lumen Mobile is fine in cities, rough in rural areas. Check the map for where you live."),
    (TECH_SUB, "negative", "Had Lumen Mobile for a year, the billing errors made me leave."),
    (TECH_SUB, "positive", "Lumen Mobile has been rock solid for me in {city}, can't complain for the price."),
    (TECH_SUB, "neutral", "Lumen Mobile leases in some areas, runs its own 5G in bigger cities I think."),
    (TECH_SUB, "mixed", "Lumen Mobile's cheap and the app is nice but their roaming is overpriced."),
]

SPIKE_X = [
    "{brand} is the network down?? nothing in {city}",
    "no signal at all in {city}. {brand} what's happening",
    "{brand} outage? calls failing, data dead, {city}",
    "everyone on {brand} in {city} currently shouting at their phones",
    "{brand} SOS only. {city}. Please tell me you know about this",
    "Is {brand} down? Can't call my kid's school. This is not ok",
    "{brand} status page says operational. It is not operational.",
    "can't even call 911?? {brand} fix this now",
    "{brand} my entire office on your network is offline. {city}.",
    "{brand} the outage map is just the whole state lol",
]
SPIKE_REDDIT = [
    "Same in {city}, completely dead.",
    "{support} any ETA? It's been {hours} hours.",
    "Down in {city} too. Even wifi calling is failing.",
    "Came here to check if it's just me. It's not.",
    "{support} please post an update, the status page is useless.",
]


def make_people(rng: random.Random, count: int, taken: set[str]) -> list[Person]:
    people: list[Person] = []
    while len(people) < count:
        handle = rng.choice(FIRST) + rng.choice(SUFFIX) + rng.choice(["", str(rng.randrange(10, 99))])
        handle = handle[:15]
        if handle in taken or len(handle) < 3:
            continue
        taken.add(handle)
        followers = int(rng.paretovariate(1.2) * 40)
        name = handle.split("_")[0].rstrip("0123456789x").capitalize() or handle
        people.append(Person(handle, name, min(followers, 9000), rng.choice(BIOS),
                             karma=int(rng.paretovariate(1.1) * 90)))
    return people


def stories(c: Corpus) -> None:
    """Twelve repeat customers, three of them with the same handle on X and Reddit."""
    mara = Person("mara_k", "Mara Kowalski", 840, "Accountant. Will audit your bill.", karma=3120)
    c.tweet(mara, f"{BRAND} charged twice for March, $78 x2. Chat says it's 'escalated'. Escalated where?",
            13 * DAY + 200, "negative", "repeat", "cross_platform")
    c.post(mara, OWN_SUB, "Double charged and support keeps saying 'escalated'",
           "Two identical $78 charges on the 1st. Three chats, one call, same answer every time. "
           "Has anyone actually gotten a double charge refunded, and how long did it take?",
           12 * DAY + 30, "negative", "repeat", "cross_platform")
    c.tweet(mara, f"Day 5 of the {BRAND} double charge. Still nothing. I have the bank statement, you have my money.",
            9 * DAY, "negative", "repeat", "cross_platform")
    c.comment(mara, OWN_SUB, f"Update: {SUPPORT} DM'd me, refund is apparently pending. Will report back.",
              7 * DAY + 400, "mixed", "repeat", "cross_platform")
    c.tweet(mara, f"Refund finally landed. Thanks Jess from {BRAND} support, you were the only one who read my ticket.",
            5 * DAY + 100, "positive", "repeat", "cross_platform")

    devon = Person("devon_rides", "Devon Okafor", 2300, "Gravel bikes and bad coffee. Colorado.", karma=8800)
    c.tweet(devon, f"Rode 60 miles outside Boulder today. {BRAND} coverage: zero for 40 of them. Cool cool.",
            11 * DAY, "negative", "repeat", "cross_platform")
    c.post(devon, TECH_SUB, "Lumen Mobile rural coverage is a joke (Colorado edition)",
           "Love the price, love the app. But if you ride or hike anywhere outside the Front Range cities, "
           "Lumen Mobile drops to nothing. Their map shows full coverage. Anyone found a workaround? Booster?",
           10 * DAY + 300, "negative", "repeat", "cross_platform")
    c.comment(devon, TECH_SUB, "Ended up adding a cheap data-only eSIM from another carrier as backup. "
              "Lumen Mobile for town, backup for the trails.", 8 * DAY, "mixed", "repeat", "cross_platform")
    c.tweet(devon, f"Okay {BRAND}, whatever you did near Lyons worked. Full bars on the climb today. Respect.",
            2 * DAY - 300, "positive", "repeat", "cross_platform")

    tomasz = Person("tomasz_builds", "Tomasz Nowak", 5100, "Building furniture and breaking phones.", karma=15400)
    c.tweet(tomasz, f"{BRAND} eSIM transfer to my new Pixel 8 failed. Old phone deactivated, new one says No SIM.",
            6 * DAY + 600, "negative", "repeat", "cross_platform")
    c.comment(tomasz, OWN_SUB, f"{SUPPORT} same eSIM issue here, Pixel 8, ticket #48213. 14 hours without service.",
              6 * DAY + 100, "negative", "repeat", "cross_platform")
    c.tweet(tomasz, f"24 hours without a phone thanks to {BRAND}'s eSIM 'transfer'. Had to borrow my neighbour's.",
            5 * DAY + 500, "negative", "repeat", "cross_platform")
    c.comment(tomasz, OWN_SUB, "Fixed. Had to go into the store, they pushed a new profile in 2 minutes. "
              "Why this couldn't be done remotely I'll never know.", 4 * DAY + 900, "mixed", "repeat",
              "cross_platform")

    june = Person("grandma_june", "June Pettersen", 95, "Retired teacher. Grandkids made me join.")
    c.tweet(june, f"{BRAND} my grandson set up this new phone and now I can't get my voicemail. How do I fix this?",
            12 * DAY + 900, "neutral", "repeat")
    c.tweet(june, f"Went to the {BRAND} store on Colfax. A very patient young man named Marcus fixed my voicemail.",
            11 * DAY + 600, "positive", "repeat")
    c.tweet(june, f"Thank you {BRAND}. Marcus even wrote the steps down for me on a card. Lovely service.",
            11 * DAY + 500, "positive", "repeat")

    raj = Person("raj_codes", "Raj Patel", 3400, "Backend engineer. I graph everything.")
    c.tweet(raj, f"My uptime monitor says {BRAND} data dropped 4 times between 2 and 3am. I have graphs.",
            10 * DAY + 100, "negative", "repeat")
    c.tweet(raj, f"{BRAND} packet loss is back. 18% to anything outside your network. Austin, fiber is not an option.",
            SPIKE_AGE + 30, "negative", "repeat")
    c.tweet(raj, f"Update: {BRAND} packet loss gone since the maintenance last night. 0.1% average now. Nice work.",
            1 * DAY + 200, "positive", "repeat")

    bex = Person("bex_travels", "Rebecca Lane", 18700, "Travel writer. 41 countries, 1 backpack.")
    c.tweet(bex, f"Landed in Lisbon, {BRAND} roaming worked instantly. This is how it should be.",
            13 * DAY + 20, "positive", "repeat")
    c.tweet(bex, f"...and {BRAND} just charged me $140 in roaming because the travel pass 'didn't apply'. Hm.",
            9 * DAY + 700, "negative", "repeat")
    c.tweet(bex, f"{BRAND} credited the $140 back after one DM. Fair play. Tokyo next, let's see.",
            7 * DAY + 100, "positive", "repeat")
    c.tweet(bex, f"Tokyo: {BRAND} roaming on 4G, totally usable. Maps, trains, translations all fine.",
            3 * DAY + 200, "positive", "repeat")

    carlos = Person("carlos_mtz", "Carlos Martínez", 1250, "Tucson | fútbol | tacos")
    c.tweet(carlos, f"{BRAND} otra vez sin señal en Tucson. ¿Qué pasa con su red?", 8 * DAY + 40, "negative",
            "repeat", "non_english", lang="es")
    c.tweet(carlos, f"{BRAND} still no signal in Tucson, second day. My mom can't reach me.", 7 * DAY + 800,
            "negative", "repeat")
    c.tweet(carlos, f"Ya volvió la señal. Gracias {BRAND} por el crédito en la factura.", 6 * DAY, "positive",
            "repeat", "non_english", lang="es")

    nurse = Person("nightshift_nurse", "nightshift_nurse", 0, "", karma=21400)
    c.post(nurse, OWN_SUB, "No signal in hospital basement, wifi calling keeps failing",
           "I work nights in a hospital basement. Wifi calling connects then drops after ~30 seconds. "
           "Our unit relies on me being reachable. Anyone solved this?", 9 * DAY + 300, "negative", "repeat")
    c.comment(nurse, OWN_SUB, f"{SUPPORT} any update on the wifi calling bug? Still dropping every call at work.",
              6 * DAY + 700, "negative", "repeat")
    c.comment(nurse, OWN_SUB, "The carrier settings update from yesterday fixed it. Calls holding all shift.",
              3 * DAY + 50, "positive", "repeat")

    kayla = Person("kayla_b", "Kayla B", 610, "professional sarcasm enjoyer")
    c.tweet(kayla, f"Nothing like {BRAND} dropping my call right as I say 'so anyway the important part is'",
            13 * DAY + 700, "negative", "repeat", "sarcasm")
    c.tweet(kayla, f"{BRAND} hold music has become my personality. We are one now.", 8 * DAY + 300, "negative",
            "repeat", "sarcasm")
    c.tweet(kayla, f"Wow {BRAND}, a whole 2 bars today. Should I frame this screenshot", 4 * DAY + 60, "negative",
            "repeat", "sarcasm")
    c.tweet(kayla, f"ok fine {BRAND} fixed my bill and the agent was funny. I'll allow it", 1 * DAY + 30, "positive",
            "repeat")

    mike = Person("ohio_dad_mike", "ohio_dad_mike", 0, "", karma=1900)
    c.post(mike, OWN_SUB, "Family plan: adding a line for a 12 year old?",
           "What's the cheapest way to add my kid to our Family 4 plan? Any parental controls worth using?",
           12 * DAY + 200, "neutral", "repeat")
    c.comment(mike, OWN_SUB, "Thanks all. Added her line on Prepaid 35 as a sub-line, went fine.", 11 * DAY + 50,
              "positive", "repeat")
    c.comment(mike, TECH_SUB, "Lumen Mobile's family controls are basic but they work. Screen time limits, "
              "contact whitelists. Good enough for a 12 year old.", 4 * DAY + 300, "neutral", "repeat")

    lena = Person("lenamoves", "Lena Fischer", 2900, "Moving to Denver. Send help (and boxes).")
    c.tweet(lena, f"Porting my number to {BRAND} is 'in progress' for 3 days now. I have no working phone.",
            10 * DAY + 500, "negative", "repeat")
    c.tweet(lena, f"{BRAND} meine Nummer hängt immer noch in der Portierung. Drei Tage ohne Telefon!",
            9 * DAY + 800, "negative", "repeat", "non_english", lang="de")
    c.tweet(lena, f"Port done. Welcome to {BRAND}, me. Let's hope it's worth it.", 8 * DAY + 600, "mixed", "repeat")

    quiet = Person("quietsignal", "quietsignal", 0, "", karma=640)
    c.post(quiet, OWN_SUB, "How do I get my port-out PIN?", "Leaving for another carrier. The app doesn't show the "
           "port-out PIN anywhere. Do I really have to call?", 5 * DAY + 200, "neutral", "repeat")
    c.comment(quiet, OWN_SUB, f"{SUPPORT} it's been 2 days, still no PIN. Please don't make me call.",
              3 * DAY + 600, "negative", "repeat")
    c.comment(quiet, OWN_SUB, "Got the PIN via chat. Bye Lumen, it was fine while it lasted.", 2 * DAY + 100,
              "mixed", "repeat")


def notables(c: Corpus) -> None:
    """A tech journalist (120k followers), a celebrity, two influencers."""
    dana = Person("dana_techwire", "Dana Whitfield", 120_000,
                  "Senior mobile reporter at The Wireline. Tips: DMs open, Signal in bio.")
    c.tweet(dana, f"Hearing reports of a widespread {BRAND} outage across the Mountain West. Lumen, care to comment?",
            SPIKE_AGE - 40, "neutral", "journalist", "high_reach")
    c.tweet(dana, f"{BRAND} confirms a 'core network issue' affected customers in 6 states. Story coming.",
            SPIKE_AGE - 180, "neutral", "journalist", "high_reach")
    c.tweet(dana, f"Asked {BRAND} why their new roaming fee isn't on their pricing page. Still waiting on an answer.",
            6 * DAY + 30, "negative", "journalist", "high_reach")
    c.tweet(dana, f"To their credit, {BRAND} is issuing automatic credits for this week's outage. Others don't.",
            1 * DAY + 600, "positive", "journalist", "high_reach")

    jaxon = Person("jaxon_reyes", "Jaxon Reyes", 2_100_000, "Singer. World tour 2025. Management: see link.")
    c.tweet(jaxon, f"{BRAND} my phone has been SOS-only since soundcheck in Denver. Help a guy out 🙏",
            SPIKE_AGE + 10, "negative", "vip", "high_reach")
    c.tweet(jaxon, f"Shoutout {BRAND} for getting my phone back before the show. Denver you were LOUD tonight 🎤",
            SPIKE_AGE - 300, "positive", "vip", "high_reach")

    priya = Person("techtok_priya", "Priya | TechTok", 58_000, "Phones, plans, and no-nonsense reviews.")
    c.tweet(priya, f"Tested {BRAND} 5G in 4 cities this week. Fast in Denver and Austin, meh in Boise. Video soon.",
            5 * DAY, "mixed", "influencer", "high_reach")
    c.tweet(priya, f"{BRAND} eSIM setup is the smoothest I've tested this year. Two minutes start to finish.",
            2 * DAY + 800, "positive", "influencer", "high_reach")

    gus = Person("gadgetgus", "Gadget Gus", 31_000, "I unbox things so you don't have to.")
    c.tweet(gus, f"{BRAND} throttles hotspot to 3 Mbps after 5GB on a plan that advertises 30GB. Receipts attached.",
            3 * DAY + 500, "negative", "influencer", "high_reach")


def foreign(c: Corpus, people: list[Person]) -> None:
    """About 5% of the corpus in Spanish, German, French and Japanese."""
    texts = [
        ("es", "negative", f"{BRAND} llevo dos días sin datos móviles en Phoenix. Nadie me da una solución."),
        ("es", "positive", f"Excelente atención de {BRAND} hoy, me resolvieron lo del eSIM en minutos."),
        ("es", "neutral", f"{BRAND} ¿el plan Unlimited Plus incluye roaming en México?"),
        ("es", "negative", f"{BRAND} me cobraron dos veces este mes. Quiero mi reembolso."),
        ("de", "negative", f"{BRAND} seit heute Morgen kein Netz in Denver. Was ist da los?"),
        ("de", "positive", f"Roaming mit {BRAND} in Deutschland klappt super, danke!"),
        ("de", "neutral", f"{BRAND} funktioniert eSIM auch mit dem Pixel 8?"),
        ("fr", "negative", f"{BRAND} encore une panne de réseau à Portland. C'est la troisième cette semaine."),
        ("fr", "positive", f"Merci {BRAND}, le service client a été rapide et très aimable."),
        ("fr", "neutral", f"{BRAND} est-ce que le forfait Essentials fonctionne au Canada ?"),
        ("ja", "negative", f"{BRAND} 東京でローミングが全然つながらない。どうなってるの？"),
        ("ja", "positive", f"{BRAND} のeSIM設定、すごく簡単でした。ありがとう！"),
        ("ja", "neutral", f"{BRAND} 日本でのローミング料金はいくらですか？"),
    ]
    for index, (lang, sentiment, text) in enumerate(texts):
        c.tweet(people[index], text, c.rng.randrange(20, 14 * DAY), sentiment, "non_english", lang=lang)
    reddit_texts = [
        ("es", "negative", OWN_SUB, f"{SUPPORT} sigo sin servicio en Tucson desde ayer. ¿Hay alguna novedad?"),
        ("de", "neutral", TECH_SUB, "Hat jemand Erfahrung mit Lumen Mobile beim Roaming in Europa?"),
        ("fr", "mixed", OWN_SUB, "Le réseau est correct en ville, mais la facturation est un cauchemar."),
        ("ja", "neutral", TECH_SUB, "Lumen Mobileは日本でも使えますか？旅行の予定があります。"),
    ]
    for index, (lang, sentiment, sub, text) in enumerate(reddit_texts):
        c.comment(people[len(texts) + index], sub, text, c.rng.randrange(20, 14 * DAY), sentiment,
                  "non_english", lang=lang)


def zalgo(rng: random.Random, text: str) -> str:
    marks = [chr(code) for code in range(0x0300, 0x036F)]
    return "".join(ch + "".join(rng.choice(marks) for _ in range(rng.randrange(2, 6))) if ch != " " else ch
                   for ch in text)


def hostile(c: Corpus, people: list[Person]) -> None:
    """Texts the web app and storage must survive: markup, SQL, bidi tricks, a wall of text."""
    rng = c.rng
    c.tweet(people[0], f"{BRAND} <script>alert('x')</script> fix your website, the payment page is broken",
            4 * DAY + 70, "negative", "hostile")
    c.tweet(people[1], f"{BRAND} '; DROP TABLE mentions; -- lol. Seriously though my data hasn't worked since Monday",
            6 * DAY + 220, "negative", "hostile")
    c.tweet(people[2], f"{BRAND} call me back at \u202e0124-555 ,rebmun ym si sihT\u202c thanks",
            2 * DAY + 410, "neutral", "hostile")
    c.tweet(people[3], f"{BRAND} " + zalgo(rng, "why is my signal gone again"), 3 * DAY + 330, "negative", "hostile")
    c.post(people[4], OWN_SUB, "<img src=x onerror=alert(1)> billing page shows this??",
           "Literally what the title says. The billing page rendered some broken image tag and then froze.",
           5 * DAY + 90, "negative", "hostile")
    c.comment(people[5], OWN_SUB, f"{SUPPORT} [click here for your refund](javascript:alert(document.cookie)) "
              "is what a scammer DM'd me pretending to be you. Heads up everyone.", 2 * DAY + 20, "neutral",
              "hostile")
    sentences = [
        "I have been a customer for six years and I have never been treated like this.",
        "Every single month the bill is different and nobody can tell me why.",
        "The app says one thing, the website says another, and the agent says a third thing.",
        "I was promised a callback four times and not one of them happened.",
        "My signal drops every evening at exactly the time I need to call my mother.",
        "I pay for unlimited data and I get throttled after an hour of video.",
        "The store told me to call support and support told me to go to the store.",
        "I have recorded every chat transcript and I am happy to share all of them.",
        "Do not tell me to restart my phone, I have restarted it more times than I can count.",
    ]
    rant = f"{SUPPORT} OK here it goes, the full story. "
    while len(rant) < 5000:
        rant += rng.choice(sentences) + " "
    rant = rant[:4990].rsplit(" ", 1)[0] + " ENOUGH."
    c.comment(people[6], OWN_SUB, rant, 1 * DAY + 350, "negative", "hostile", "long")


def emoji_only(c: Corpus, people: list[Person]) -> None:
    c.tweet(people[0], "📵😡📵😡", 2 * DAY + 30, "negative", "emoji_only")
    c.tweet(people[1], "🔥🔥🔥 5G 🔥🔥🔥", 5 * DAY + 200, "positive", "emoji_only")
    c.comment(people[2], OWN_SUB, "🙄", SPIKE_AGE - 20, "negative", "emoji_only")
    c.comment(people[3], OWN_SUB, "👍👍", 4 * DAY + 10, "positive", "emoji_only")
    c.comment(people[4], TECH_SUB, "😂😂😂", 9 * DAY + 100, "neutral", "emoji_only")


def spike(c: Corpus, people: list[Person]) -> None:
    """An outage burst: about 45 mentions within three hours, 2.5 days before the anchor."""
    rng = c.rng
    leader = Person("lumen_mod_kat", "lumen_mod_kat", 0, "", karma=40_200)
    c.post(leader, OWN_SUB, "[Megathread] Network outage - report your city here",
           "Lots of reports of no service across several states. Keep reports in this thread, include your city "
           "and whether calls, data or both are down. We'll update as Lumen posts news.", SPIKE_AGE + 45,
           "neutral", "outage_spike")
    for index in range(32):
        c.tweet(people[index], fill(rng, rng.choice(SPIKE_X)), SPIKE_AGE + 40 - rng.randrange(180), "negative",
                "outage_spike")
    for index in range(12):
        c.comment(people[32 + index], OWN_SUB, fill(rng, rng.choice(SPIKE_REDDIT)),
                  SPIKE_AGE + 40 - rng.randrange(170), "negative", "outage_spike")


def background(c: Corpus, x_people: list[Person], reddit_people: list[Person]) -> None:
    """The everyday stream: template mentions spread over the two weeks."""
    rng = c.rng
    themes = sorted(X_THEMES)
    for index, person in enumerate(x_people):
        if index % 11 == 10:
            sentiment, template = rng.choice(X_KEYWORD_ONLY)
            tags: tuple[str, ...] = ("keyword_only",)
        else:
            theme = themes[index % len(themes)]
            sentiment, template = rng.choice(X_THEMES[theme])
            tags = (theme,)
        c.tweet(person, fill(rng, template), rng.randrange(15, 14 * DAY), sentiment, *tags)
    posts = list(REDDIT_POSTS)
    rng.shuffle(posts)
    for index, person in enumerate(reddit_people):
        if index < 2 * len(posts):
            sub, sentiment, title, body = posts[index % len(posts)]
            drawn = slots(rng)
            c.post(person, sub, title.format(**drawn), body.format(**drawn), rng.randrange(60, 14 * DAY), sentiment)
        else:
            sub, sentiment, body = rng.choice(REDDIT_COMMENTS)
            c.comment(person, sub, fill(rng, body), rng.randrange(15, 14 * DAY), sentiment)


def build() -> dict[str, Any]:
    rng = random.Random(SEED)
    corpus = Corpus(rng)
    taken = {"mara_k", "devon_rides", "tomasz_builds", "grandma_june", "raj_codes", "bex_travels", "carlos_mtz",
             "nightshift_nurse", "kayla_b", "ohio_dad_mike", "lenamoves", "quietsignal", "dana_techwire",
             "jaxon_reyes", "techtok_priya", "gadgetgus", "lumen_mod_kat", "lumenmobile", "lumenmobile_support"}
    crowd = make_people(rng, 350, taken)
    stories(corpus)
    notables(corpus)
    foreign(corpus, crowd[0:17])
    hostile(corpus, crowd[17:24])
    emoji_only(corpus, crowd[24:29])
    spike(corpus, crowd[29:73])
    background(corpus, x_people=crowd[73:223], reddit_people=crowd[223:348])
    items = sorted(corpus.items, key=lambda item: (item["created_at"], item["author"]))
    return {
        "about": "Fictional brand mentions of Lumen Mobile for Harken's offline demo and tests. "
                 "Written by make_demo_corpus.py; times are relative to 'anchor' and simulators re-date them "
                 "from the moment they start.",
        "anchor": ANCHOR.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "seed": SEED,
        "items": items,
    }


def write(document: dict[str, Any], path: Path = OUT) -> None:
    """One item per line: small diffs when the generator changes."""
    head = {key: value for key, value in document.items() if key != "items"}
    lines = [json.dumps(item, ensure_ascii=False, sort_keys=True) for item in document["items"]]
    text = json.dumps(head, ensure_ascii=False, indent=1)[:-2] + ',\n "items": [\n  '
    text += ",\n  ".join(lines) + "\n ]\n}\n"
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    built = build()
    write(built)
    print(f"wrote {len(built['items'])} items to {OUT}")
