"""A fixed corpus of realistic spaces and graded judgements of what should come first."""
# ruff: noqa: E501  (one judged space per line reads better than wrapped tuples)

from __future__ import annotations

import math
import random
from datetime import timedelta
from typing import Any

from core.timeutil import isoformat, utcnow

NOW = utcnow()

# id, title, description, topics, state, listeners, host name, lang, hours from now
# (negative: started that long ago; positive: scheduled to start then), shares.
SPACES: list[tuple[int, str, str, list[str], str, int, str, str, float, int]] = [
    (1, "Late night jazz listening session", "Spinning Coltrane and Monk records, requests welcome", ["music", "jazz"], "live", 420, "Nina Blue", "en", -1, 30),
    (2, "Jazz piano masterclass", "Voicings, comping and walking bass lines for beginners", ["music", "jazz", "education"], "live", 95, "Marc Keys", "en", -0.5, 8),
    (3, "History of bebop", "From Minton's Playhouse to Bird and Dizzy", ["music", "jazz", "history"], "ended", 0, "Nina Blue", "en", -48, 2),
    (4, "Jazz standards open mic", "Bring your horn, we play the Real Book", ["music", "jazz"], "scheduled", 0, "Sam Reed", "en", 3, 5),
    (5, "Smooth jazz for studying", "Background music and quiet chat", ["music", "jazz"], "ended", 0, "Chill Radio", "en", -200, 0),
    (6, "Python async deep dive", "asyncio, trio and structured concurrency explained", ["tech", "python"], "live", 310, "Dana Code", "en", -0.3, 22),
    (7, "Python for data science beginners", "pandas, numpy and notebooks from zero", ["tech", "python", "education"], "scheduled", 0, "Dana Code", "en", 20, 4),
    (8, "Rust vs Python for web backends", "Performance, safety and developer speed", ["tech", "python", "rust"], "ended", 0, "Lee Byte", "en", -30, 3),
    (9, "Typing in Python: mypy tips", "Generics, protocols and gradual typing", ["tech", "python"], "ended", 0, "Dana Code", "en", -400, 0),
    (10, "Machine learning paper club", "This week: transformers for audio", ["tech", "ai", "science"], "live", 150, "Ada Lab", "en", -1.5, 12),
    (11, "AI ethics roundtable", "Bias, consent and open models", ["ai", "ethics"], "scheduled", 0, "Ada Lab", "en", 2, 9),
    (12, "Building startups with AI agents", "Founders share what works in production", ["ai", "startups"], "ended", 0, "Vic Found", "en", -12, 6),
    (13, "Startup fundraising Q&A", "Seed rounds, SAFEs and term sheets", ["startups", "finance"], "live", 240, "Vic Found", "en", -0.7, 18),
    (14, "Bootstrapped founders circle", "Profitable small businesses without investors", ["startups"], "ended", 0, "Kim Shop", "en", -72, 1),
    (15, "Premier League matchday live", "Reactions to every goal this weekend", ["sports", "football"], "live", 980, "Goal Talk", "en", -0.2, 55),
    (16, "Football tactics explained", "Pressing, false nines and inverted full backs", ["sports", "football"], "ended", 0, "Goal Talk", "en", -26, 4),
    (17, "World Cup qualifiers preview", "Every group, every fixture", ["sports", "football"], "scheduled", 0, "Goal Talk", "en", 6, 14),
    (18, "NBA playoffs night", "Live reactions and trade rumours", ["sports", "basketball"], "live", 510, "Hoop Dreams", "en", -1, 25),
    (19, "Marathon training for beginners", "Building mileage without injury", ["fitness", "running"], "scheduled", 0, "Run Club", "en", 30, 2),
    (20, "Morning yoga and breathing", "Gentle flow to start the day", ["fitness", "health"], "live", 60, "Asha Calm", "en", -0.4, 3),
    (21, "Mental health check-in", "A safe space to talk about stress and burnout", ["health"], "live", 130, "Asha Calm", "en", -2, 7),
    (22, "Sleep science with a neuroscientist", "Why we dream and how to rest better", ["health", "science"], "ended", 0, "Ada Lab", "en", -50, 5),
    (23, "Book club: science fiction classics", "This month: Le Guin, The Dispossessed", ["books", "scifi"], "scheduled", 0, "Page Turners", "en", 26, 6),
    (24, "Poetry open mic night", "Read your own poems or your favourite ones", ["books", "poetry"], "live", 75, "Verse Lab", "en", -1, 4),
    (25, "Writing your first novel", "Plot, outline and finishing the draft", ["books", "writing"], "ended", 0, "Page Turners", "en", -90, 1),
    (26, "Crypto market morning update", "Bitcoin, ether and the overnight moves", ["crypto", "finance"], "live", 700, "Chain Daily", "en", -0.6, 40),
    (27, "Bitcoin halving explained", "What changes for miners and holders", ["crypto"], "ended", 0, "Chain Daily", "en", -100, 3),
    (28, "Personal finance for students", "Budgets, debt and your first investments", ["finance", "education"], "scheduled", 0, "Money Mia", "en", 8, 3),
    (29, "Election night coverage", "Results as they come in, with analysts", ["politics", "news"], "live", 1500, "Civic Desk", "en", -3, 90),
    (30, "Climate policy debate", "Carbon taxes versus subsidies", ["politics", "climate"], "ended", 0, "Civic Desk", "en", -20, 6),
    (31, "Space exploration news", "Mars rovers, moon landers and launches", ["science", "space"], "live", 220, "Orbit Hour", "en", -0.8, 11),
    (32, "Astronomy for beginners", "What to see in the night sky this month", ["science", "space"], "scheduled", 0, "Orbit Hour", "en", 10, 3),
    (33, "Indie game developers meetup", "Show your game, get feedback", ["gaming", "tech"], "live", 88, "Pixel Guild", "en", -1.2, 6),
    (34, "Speedrunning stories", "Glitches, routes and world records", ["gaming"], "ended", 0, "Pixel Guild", "en", -36, 2),
    (35, "Cooking Italian pasta from scratch", "Fresh egg dough, cacio e pepe and carbonara", ["food", "cooking"], "live", 140, "Chef Lu", "en", -0.5, 9),
    (36, "Vegan recipes on a budget", "Cheap, quick plant-based meals", ["food", "cooking"], "scheduled", 0, "Green Plate", "en", 4, 4),
    (37, "Coffee brewing nerds", "Pour over, espresso and grinder talk", ["food", "coffee"], "ended", 0, "Bean There", "en", -60, 1),
    (38, "Travel hacking with points", "Flights and hotels almost free", ["travel", "finance"], "ended", 0, "Nomad Jo", "en", -14, 5),
    (39, "Learning Japanese together", "Hiragana practice and beginner conversation", ["language", "japanese"], "live", 66, "Kana Club", "en", -0.9, 4),
    (40, "Parenting toddlers: sleep and tantrums", "Parents swap what actually works", ["parenting"], "scheduled", 0, "Family Table", "en", 5, 3),
    (41, "Musique jazz du soir", "Disques de jazz et discussion en direct", ["music", "jazz"], "live", 55, "Radio Nuit", "fr", -1, 2),
    (42, "Fútbol en vivo: La Liga", "Comentarios del partido en directo", ["sports", "football"], "live", 330, "Gol Total", "es", -0.4, 16),
    (43, "Programación en Python desde cero", "Curso para principiantes en español", ["tech", "python", "education"], "scheduled", 0, "Codigo Vivo", "es", 12, 2),
    (44, "Café e filosofia", "Conversa sobre ética e filosofia antiga", ["philosophy"], "ended", 0, "Sofia Pensa", "pt", -40, 1),
    (45, "Deutsche Startup-Szene", "Gründer aus Berlin erzählen", ["startups"], "ended", 0, "Gründer Talk", "de", -25, 2),
    (46, "Weekly design critique", "Bring a UI or a logo for honest feedback", ["design"], "live", 45, "Form Studio", "en", -0.7, 3),
    (47, "Film club: Kurosawa retrospective", "Seven Samurai and Rashomon", ["film"], "scheduled", 0, "Cine Club", "en", 28, 3),
    (48, "Stand-up comedy writers room", "Punch up your jokes with working comics", ["comedy"], "live", 115, "Laugh Lab", "en", -1.1, 8),
    (49, "Ancient Rome history podcast live", "The fall of the Republic, episode 12", ["history"], "live", 160, "Toga Talk", "en", -0.6, 10),
    (50, "Faith and doubt conversations", "Believers and skeptics in honest dialogue", ["faith"], "ended", 0, "Open Door", "en", -80, 1),
]  # fmt: skip

# Fillers: plausible spaces that share everyday words with the judged ones but answer
# none of the queries better than their judged answers.
_FILLER_TOPICS = ["music", "tech", "sports", "health", "books", "food", "news", "gaming"]
_FILLER_TITLES = [
    "Open chat about {t}",
    "Weekly {t} hangout",
    "Ask me anything: {t}",
    "Sunday {t} lounge",
    "Friends talking {t}",
    "{T} community hour",
]
_FILLER_TEXT = [
    "Casual conversation, everyone welcome",
    "Drop in and say hello",
    "Our regular get together",
    "Bring questions and stories",
]


def _fillers(count: int) -> list[tuple]:
    rng = random.Random(2024)
    out = []
    for i in range(count):
        topic = rng.choice(_FILLER_TOPICS)
        title = rng.choice(_FILLER_TITLES).format(t=topic, T=topic.capitalize())
        state = rng.choice(["live", "scheduled", "ended", "ended"])
        listeners = rng.randint(1, 60) if state == "live" else 0
        hours = rng.uniform(1, 72) * (1 if state == "scheduled" else -1)
        lang = rng.choice(["en", "en", "en", "es", "fr"])
        out.append(
            (100 + i, title, rng.choice(_FILLER_TEXT), [topic], state, listeners,
             f"Host {i}", lang, hours, rng.randint(0, 3))
        )  # fmt: skip
    return out


def documents() -> list[dict[str, Any]]:
    """Return the corpus (50 judged spaces and 150 fillers) as search documents."""
    docs = []
    for sid, title, text, topics, state, listeners, host, lang, hours, shares in SPACES + _fillers(
        150
    ):
        at = NOW + timedelta(hours=hours)
        docs.append(
            {
                "id": sid,
                "title": title,
                "description": text,
                "host_name": host,
                "host_handle": host.lower().replace(" ", ""),
                "topics": topics,
                "lang": lang,
                "state": state,
                "platform": "rooms",
                "listener_count": listeners,
                "started_at": None if state == "scheduled" else isoformat(at),
                "scheduled_start": isoformat(at) if state == "scheduled" else None,
                "ended_at": isoformat(at + timedelta(hours=1)) if state == "ended" else None,
                "updated_at": isoformat(min(at, NOW)),
                "featured": False,
                "shares_24h": shares,
                "version": 1,
            }
        )
    return docs


# query -> {id: grade}; 3 is the answer, 2 a good one, 1 acceptable.
JUDGED: dict[str, dict[int, int]] = {
    "jazz": {1: 3, 2: 3, 41: 2, 4: 2, 3: 2, 5: 1},
    "jazz piano": {2: 3},
    "bebop": {3: 3},
    "python": {6: 3, 7: 2, 8: 2, 43: 2, 9: 1},
    "python beginners": {7: 3, 43: 1},
    "machine learning": {10: 3},
    "ai": {10: 3, 11: 3, 12: 2},
    "startup": {13: 3, 12: 2, 14: 2, 45: 1},
    "football": {15: 3, 42: 2, 17: 2, 16: 2},
    "football tactics": {16: 3},
    "basketball": {18: 3},
    "marathon": {19: 3},
    "yoga": {20: 3},
    "mental health": {21: 3},
    "sleep": {22: 3, 40: 2},
    "science fiction": {23: 3},
    "poetry": {24: 3},
    "bitcoin": {27: 3, 26: 2},
    "crypto": {26: 3, 27: 2},
    "election": {29: 3},
    "space": {31: 3, 32: 2},
    "astronomy": {32: 3},
    "pasta": {35: 3},
    "japanese": {39: 3},
    "comedy": {48: 3},
    "rome history": {49: 3},
    "cooking": {35: 3, 36: 3},
    "jaz": {1: 3, 2: 3, 41: 2, 4: 2, 3: 2, 5: 1},
}


def ndcg(ranked: list[int], grades: dict[int, int], k: int = 10) -> float:
    """Return nDCG@k of a ranking against graded judgements."""

    def gain(grade: int) -> float:
        return float(2**grade - 1)

    dcg = sum(gain(grades.get(doc, 0)) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted(grades.values(), reverse=True)[:k]
    best = sum(gain(g) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / best if best else 0.0


def mean_ndcg(search: Any, k: int = 10) -> float:
    """Return the mean nDCG@k of `search(q) -> ids` over the judged queries."""
    return sum(ndcg(search(q), grades, k) for q, grades in JUDGED.items()) / len(JUDGED)
