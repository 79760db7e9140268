"""The floors: the tightest simple pure-Python programs we could write that
produce the same bytes as the tool (the benchmark checks that they do), and
the naive ones for reference. Each is a template formatted with the
synthetic spec's values and run as its own process.

Compile floors know the spec's structure (the tool has to find it): per
combo, one ``str.join`` of the combo's text into the 200 precomputed rest
lines, buffered writes. Factor order: combo_id, draft_template, the judges
pair (draft_llm, evaluation_llm), the replicate, the essays tuple (fastest).
"""

# Values shared by the floors: combos, draft templates, judges pairs, replicates, essays.
PRELUDE = """\
import sys
combos = [f"combo_v1_{{i:06d}}" for i in range({n})]
DRAFTS, JUDGES, REPLICATES, ESSAYS = {dt!r}, {judges!r}, ["1", "2"], {essays!r}
COLUMNS = {cols!r}
"""

NAIVE_COMPILE = PRELUDE + """\
import csv
with open(sys.argv[1], "w", newline="") as handle:
    writer = csv.writer(handle, lineterminator="\\n")
    writer.writerow(COLUMNS)
    for combo in combos:
        for dt in DRAFTS:
            for dl, vl in JUDGES:
                for rep in REPLICATES:
                    for et, el, vt in ESSAYS:
                        writer.writerow((combo, dt, dl, et, el, vt, vl, rep))
"""

TIGHT_CSV = PRELUDE + """\
rest = [f"{{dt}},{{dl}},{{et}},{{el}},{{vt}},{{vl}},{{rep}}" for dt in DRAFTS for dl, vl in JUDGES for rep in REPLICATES
        for et, el, vt in ESSAYS]
with open(sys.argv[1], "w") as out:
    out.write(",".join(COLUMNS) + "\\n")
    batch = []
    for combo in combos:
        head = combo + ","
        batch.append(head + ("\\n" + head).join(rest) + "\\n")
        if len(batch) == 20:
            out.write("".join(batch))
            batch = []
    out.write("".join(batch))
"""

TIGHT_JSONL = PRELUDE + """\
import json
def kv(column, value):
    return json.dumps(column) + ": " + json.dumps(value)
rest = [", ".join([kv("draft_template", dt), kv("draft_llm", dl), kv("essay_template", et), kv("essay_llm", el),
                   kv("evaluation_template", vt), kv("evaluation_llm", vl), kv("evaluation_template_replicate", rep)]) + "}}"
        for dt in DRAFTS for dl, vl in JUDGES for rep in REPLICATES for et, el, vt in ESSAYS]
with open(sys.argv[1], "w") as out:
    batch = []
    for combo in combos:
        head = "{{" + kv("combo_id", combo) + ", "
        batch.append(head + ("\\n" + head).join(rest) + "\\n")
        if len(batch) == 20:
            out.write("".join(batch))
            batch = []
    out.write("".join(batch))
"""

# The documented permutation (docs/performance.md, "Seeded order"), written
# out plainly with its tables: for each value of the high half of the index,
# the rounds are one list comprehension each over the 2**half indices
# sharing it, the few that land out of range are cycle-walked one by one,
# and a line is a divmod and two string concatenations.
TIGHT_SEEDED = PRELUDE + """\
import hashlib
from itertools import repeat
SEED = {seed}
rest = [f"{{dt}},{{dl}},{{et}},{{el}},{{vt}},{{vl}},{{rep}}\\n" for dt in DRAFTS for dl, vl in JUDGES for rep in REPLICATES
        for et, el, vt in ESSAYS]
heads = [combo + "," for combo in combos]
n = len(combos) * len(rest)
half = (max(2, (n - 1).bit_length()) + 1) // 2
mask, M = (1 << half) - 1, (1 << 64) - 1
def f(value, key):
    z = (value + key) & M
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    return (z ^ (z >> 31)) & mask
keys = [int.from_bytes(hashlib.blake2b(f"cohort-dsl:{{SEED}}:{{r}}".encode(), digest_size=8).digest(), "big") for r in range(6)]
tables = [[f(r, key) for r in range(1 << half)] for key in keys]
def encrypt(x):
    left, right = x >> half, x & mask
    for table in tables:
        left, right = right, left ^ table[right]
    return (left << half) | right
lows = list(range(1 << half))
size = len(rest)
with open(sys.argv[1], "w") as out:
    out.write(",".join(COLUMNS) + "\\n")
    for high in range((n + mask) >> half):
        left, right = [high] * len(lows), lows
        for table in tables:
            left, right = right, [lv ^ table[rv] for lv, rv in zip(left, right)]
        xs = [(lv << half) | rv for lv, rv in zip(left, right)][:n - (high << half)]
        for k, x in enumerate(xs):
            while x >= n:
                x = encrypt(x)
            xs[k] = x
        out.write("".join([heads[o] + rest[j] for o, j in map(divmod, xs, repeat(size))]))
"""

MEMBERSHIP = PRELUDE + """\
import hashlib
DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
def gen_id(prefix, text):
    n = int.from_bytes(hashlib.blake2b(text.lower().encode(), digest_size=10).digest(), "big")
    out = []
    while n:
        n, r = divmod(n, 36)
        out.append(DIGITS[r])
    return prefix + "".join(reversed(out))
out = sys.stdout
for combo in combos:
    for dt in DRAFTS:
        for dl, vl in JUDGES:
            for rep in REPLICATES:
                for et, el, vt in ESSAYS:
                    d = gen_id("d_", f"{{combo}}|{{dt}}|{{dl}}|1")
                    e = gen_id("e_", f"{{d}}|{{et}}|1")
                    v = gen_id("v_", f"{{e}}|{{vt}}|{{vl}}|{{rep}}")
                    out.write(f"evaluation,{{v}},bench,{{e}},{{combo}},{{vt}},{{vl}},{{rep}}\\n")
"""

# One axis of many levels (an include) times an axis of ten: the levels are
# read into a list (the tool must hold them), each written with ten tails.
TIGHT_BIG_AXIS = """\
import sys
with open(sys.argv[1]) as handle:
    levels = handle.read().split()[1:]
tails = [f",s{{i}}" for i in range(10)]
with open(sys.argv[2], "w") as out:
    out.write("big,small\\n")
    batch = []
    for level in levels:
        batch.append(level + ("\\n" + level).join(tails) + "\\n")
        if len(batch) == 400:
            out.write("".join(batch))
            batch = []
    out.write("".join(batch))
"""

# A pair whose allowed entries come from a CSV: read it, check every value
# against its side's levels, drop repeats, count.
TIGHT_PAIR = """\
import csv, sys
left = {{f"l{{i}}" for i in range({left})}}
right = {{f"r{{i}}" for i in range({right})}}
with open(sys.argv[1], newline="") as handle:
    reader = csv.reader(handle)
    next(reader)
    seen = {{}}
    for line, (a, b) in enumerate(reader, start=2):
        if a not in left or b not in right:
            sys.exit(f"line {{line}}: not a level")
        seen.setdefault((a, b), line)
print(len(seen))
"""

# Refusing a huge product: read both includes and count their lines.
READ_AND_COUNT = """\
import sys
total = 1
for path in sys.argv[1:]:
    with open(path, "rb") as handle:
        total *= sum(1 for line in handle if line.strip()) - 1
print(total)
"""
