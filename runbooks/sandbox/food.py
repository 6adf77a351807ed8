"""What the simulated AI "recognizes": deterministic plates of Russian home food."""

from __future__ import annotations

import random
from typing import Any

# name, kcal, protein, fat, carbohydrates per 100 g
FOODS: list[tuple[str, float, float, float, float]] = [
    ("Гречка отварная", 110, 4.2, 1.1, 21.3), ("Куриная грудка", 165, 31.0, 3.6, 0.0),
    ("Салат овощной", 45, 1.2, 2.5, 4.8), ("Омлет", 154, 10.6, 11.7, 1.9),
    ("Овсяная каша", 88, 3.0, 1.7, 15.0), ("Борщ", 49, 1.1, 2.2, 6.7),
    ("Хлеб ржаной", 259, 8.5, 3.3, 48.3), ("Творог 5%", 121, 17.2, 5.0, 1.8),
    ("Банан", 89, 1.1, 0.3, 22.8), ("Яблоко", 52, 0.3, 0.2, 13.8),
    ("Рис отварной", 130, 2.7, 0.3, 28.2), ("Лосось запечённый", 208, 20.4, 13.4, 0.0),
    ("Паста болоньезе", 160, 7.5, 5.8, 19.4), ("Сырники", 220, 15.0, 9.0, 18.0),
    ("Кофе с молоком", 58, 2.8, 3.2, 4.7), ("Пельмени", 248, 11.9, 12.4, 23.0),
]


def plate(rng: random.Random) -> list[dict[str, Any]]:
    items = []
    for name, kcal, p, f, c in rng.sample(FOODS, rng.randint(1, 4)):
        grams = rng.choice([30, 50, 80, 100, 120, 150, 200, 250, 300])
        k = grams / 100
        items.append({"name": name, "grams": grams, "calories": round(kcal * k, 1),
                      "protein": round(p * k, 1), "fat": round(f * k, 1),
                      "carbohydrates": round(c * k, 1),
                      "confidence": round(rng.uniform(0.62, 0.98), 2)})
    return items


def totals(items: list[dict[str, Any]]) -> dict[str, float]:
    return {k: round(sum(float(i[k]) for i in items), 1)
            for k in ("calories", "protein", "fat", "carbohydrates")}
