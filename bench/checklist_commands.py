"""The checklist's monitoring commands (Production Monitoring sections 1-6 + the Quick Grep
Cheatsheet), as a person pastes them: one command, one `ssh` call, one after the other.

They are the checklist's text with only the corrections needed to make them run against
the real system (reference/eatfit24.md, "Errors in the checklist"):
  * every `docker logs ... | grep` gets `2>&1`: the apps log to stderr, docker logs writes
    that to its own stderr, so without it grep sees nothing (eatfit24.md, Log lines);
  * section 4: `NutritionItem` -> `FoodItem`; photos have no `items` relation, so "CANCELLED
    photo with results" means `recognized_data` holding items (`recognized_data__has_key`);
  * section 6 DB snippet: `from django.db import models`, and no division by a zero total;
  * the API calls: `X-Telegram-Init-Data` instead of the Bearer placeholder, the sandbox URL,
    today's date, and `.meals[]` (the response is an object) instead of `.[]`.
Left out: the two live `-f` follows (they never end) and the rollback plan (mutating).

`local` commands (the curl spot checks) run on the operator's machine, as monitor.all's
API check does; every other command is a remote command on the host.
"""

from __future__ import annotations

from dataclasses import dataclass

W = "{worker}"
B = "{backend}"


@dataclass(frozen=True)
class Check:
    section: str
    label: str
    command: str  # shell text with {worker} {backend} {base_url} {date} placeholders
    local: bool = False  # runs on the operator's machine (curl), not over ssh
    django: bool = False  # boots a Django shell on the host
    ok_exit: tuple[int, ...] = (0, 1)  # grep exits 1 when nothing matched: still a valid answer

    def render(self, **values: str) -> str:
        return self.command.format(**values)


_STUCK = '''docker exec {backend} python manage.py shell -c "
from django.utils import timezone
from datetime import timedelta
from apps.nutrition.models import MealPhoto, Meal

stuck_photos = MealPhoto.objects.filter(
    status='PROCESSING',
    created_at__lt=timezone.now() - timedelta(seconds=60)
)
print(f'Stuck photos: {{stuck_photos.count()}}')
for p in stuck_photos:
    print(f'  Photo {{p.id}}: {{p.status}} since {{p.created_at}}')

stuck_meals = Meal.objects.filter(status='PROCESSING')
print(f'Stuck meals: {{stuck_meals.count()}}')
for m in stuck_meals:
    print(f'  Meal {{m.id}}: {{m.status}} on {{m.date}}')
"'''

# Erratum: FoodItem (not NutritionItem); photos have no items -> recognized_data items.
_LEAK = '''docker exec {backend} python manage.py shell -c "
from apps.nutrition.models import MealPhoto, FoodItem

leaked = MealPhoto.objects.filter(status='CANCELLED', recognized_data__has_key='items')
if leaked.exists():
    print(f'P0 ALERT: {{leaked.count()}} CANCELLED photos have items attached!')
    for p in leaked[:5]:
        print(f'  Photo {{p.id}}: status={{p.status}}, items={{len(p.recognized_data.get(\\"items\\") or [])}}')
else:
    print('No CANCELLED photos with items (race guard working)')

failed_leaked = MealPhoto.objects.filter(status='FAILED', recognized_data__has_key='items')
if failed_leaked.exists():
    print(f'Warning: {{failed_leaked.count()}} FAILED photos have items attached')
"'''

# Erratum: `models` imported; total may be 0.
_CANCEL_DB = '''docker exec {backend} python manage.py shell -c "
from apps.nutrition.models import CancelEvent
from django.db import models
from django.utils import timezone
from datetime import timedelta

recent = CancelEvent.objects.filter(created_at__gte=timezone.now() - timedelta(hours=24))
total = recent.count()
noop_count = recent.filter(noop=True).count()
print(f'Cancel events (24h): {{total}}')
print(f'  - Noop: {{noop_count}} ({{noop_count/max(total, 1)*100:.1f}}%)')
print(f'  - With action: {{total - noop_count}} ({{(total-noop_count)/max(total, 1)*100:.1f}}%)')
print(f'  - Avg photos/event: {{recent.aggregate(avg=models.Avg(\\"updated_photos\\"))[\\"avg\\"] or 0:.1f}}')
"'''

_CURL = 'curl -sS -f -H "X-Telegram-Init-Data: $RUNBOOKS_SANDBOX_INIT_DATA" "{base_url}/api/v1/meals/?date={date}"'

CHECKS: tuple[Check, ...] = (
    # 1. Race guard
    Check("1", "race guard", f'docker logs {W} --tail 1000 2>&1 | grep "is in terminal state"'),
    Check("1", "race guard, timestamps", f'docker logs {W} --tail 1000 --timestamps 2>&1 | grep "is in terminal state"'),
    # 2. Finalization
    Check("2", "finalized COMPLETE count", f'docker logs {W} --tail 1000 2>&1 | grep "Finalized meal_id=" | grep -c "COMPLETE"'),
    Check("2", "finalized FAILED count", f'docker logs {W} --tail 1000 2>&1 | grep "Finalized meal_id=" | grep -c "FAILED"'),
    Check("2", "finalized, timestamps", f'docker logs {W} --tail 1000 --timestamps 2>&1 | grep "Finalized meal_id="'),
    # 3. Stuck
    Check("3", "stuck photos/meals (Django shell)", _STUCK, django=True, ok_exit=(0,)),
    # 4. CANCELLED with results + API spot check
    Check("4", "CANCELLED/FAILED photos with items (Django shell)", _LEAK, django=True, ok_exit=(0,)),
    Check("4", "API spot check: non-SUCCESS photos",
          _CURL + " | jq '.meals[] | .photos[] | select(.status != \"SUCCESS\") | {{id, status}}'", local=True, ok_exit=(0,)),
    # 5. API serializer filter
    Check("5", "API: meals and photo statuses",
          _CURL + " | jq '.meals[] | {{id, status, photos: [.photos[] | {{id, status}}]}}'", local=True, ok_exit=(0,)),
    # 6. Cancel events
    Check("6", "all cancel events", f'docker logs {B} --tail 1000 --timestamps 2>&1 | grep "\\[AI\\]\\[Cancel\\]"'),
    Check("6", "noop cancels", f'docker logs {B} --tail 1000 2>&1 | grep "\\[AI\\]\\[Cancel\\] NOOP"'),
    Check("6", "cancels by reason", f'docker logs {B} --tail 1000 2>&1 | grep "\\[AI\\]\\[Cancel\\] RECEIVED" | '
                                    'grep -oP "reason=\\K\\w+" | sort | uniq -c', ok_exit=(0,)),
    Check("6", "duplicates", f'docker logs {B} --tail 1000 2>&1 | grep "\\[AI\\]\\[Cancel\\] DUPLICATE"'),
    Check("6", "CancelEvent table (Django shell)", _CANCEL_DB, django=True, ok_exit=(0,)),
    # Quick Grep Cheatsheet (without the two live follows)
    Check("cheatsheet", "all cancel-related worker logs",
          f'docker logs {W} --tail 1000 --timestamps 2>&1 | grep -E "(Finalized meal_id|is in terminal state|MealPhoto.*updated to)"'),
    Check("cheatsheet", "race guard only", f'docker logs {W} --tail 1000 --timestamps 2>&1 | grep "is in terminal state"'),
    Check("cheatsheet", "COMPLETE count", f'echo "COMPLETE: $(docker logs {W} --tail 1000 2>&1 | grep -c \'Finalized.*COMPLETE\')"', ok_exit=(0,)),
    Check("cheatsheet", "FAILED count", f'echo "FAILED: $(docker logs {W} --tail 1000 2>&1 | grep -c \'Finalized.*FAILED\')"', ok_exit=(0,)),
    Check("cheatsheet", "errors during cancel",
          f'docker logs {W} --tail 1000 2>&1 | grep -i -E "(error|exception|traceback)" | grep -A 5 -B 5 -i cancel'),
    Check("cheatsheet", "backend cancel events", f'docker logs {B} --tail 1000 --timestamps 2>&1 | grep "\\[AI\\]\\[Cancel\\]"'),
    Check("cheatsheet", "total cancel events",
          f'echo "Total cancel events: $(docker logs {B} --tail 1000 2>&1 | grep -c \'\\[AI\\]\\[Cancel\\] RECEIVED\')"', ok_exit=(0,)),
    Check("cheatsheet", "noop cancels count",
          f'echo "Noop cancels: $(docker logs {B} --tail 1000 2>&1 | grep -c \'\\[AI\\]\\[Cancel\\] NOOP\')"', ok_exit=(0,)),
    Check("cheatsheet", "duplicates count",
          f'echo "Duplicates: $(docker logs {B} --tail 1000 2>&1 | grep -c \'\\[AI\\]\\[Cancel\\] DUPLICATE\')"', ok_exit=(0,)),
)

REMOTE = tuple(c for c in CHECKS if not c.local)
DJANGO_BOOTS = sum(1 for c in CHECKS if c.django)

# Text that means a command did not really run (the errata this module corrects).
BROKEN_MARKERS = ("Traceback", "ImportError", "FieldError", "NameError", "ZeroDivisionError",
                  "command not found", "No such container", "parse error")


def rendered(values: dict[str, str]) -> list[tuple[Check, str]]:
    return [(c, c.render(**values)) for c in CHECKS]
