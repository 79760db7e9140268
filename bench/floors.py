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

# Membership (two-phase layout), each id hashed once: drafts (combo x
# draft_template x draft_llm), essays (each draft x the essays' template and
# llm), evaluations (combo x draft_template x judges x replicate x essays),
# each stage in that product order; a stage's ids are kept for the next.
# Base 36 two digits at a time, as fast as pure Python gets; each digest from
# a copy of one blank BLAKE2b state (about twice as fast as a new one).
MEMBERSHIP_PRELUDE = PRELUDE + """\
from _blake2 import blake2b
D = "0123456789abcdefghijklmnopqrstuvwxyz"
PAIRS = [a + b for a in D for b in D]
BLANK = blake2b(digest_size=10)
def gen_id(prefix, text):
    t = PAIRS
    h = BLANK.copy()
    h.update(text.encode())
    n = int.from_bytes(h.digest(), "big")
    n, a = divmod(n, 1296)
    n, b = divmod(n, 1296)
    n, c = divmod(n, 1296)
    n, d = divmod(n, 1296)
    n, e = divmod(n, 1296)
    n, f = divmod(n, 1296)
    n, g = divmod(n, 1296)
    return prefix + ((t[n] + t[g] + t[f] + t[e] + t[d] + t[c] + t[b] + t[a]).lstrip("0") or "0")
DRAFT_LLMS = list(dict.fromkeys(dl for dl, _ in JUDGES))
ESSAY_KEYS = list(dict.fromkeys((et, el) for et, el, _ in ESSAYS))
ESSAY_INDEX = [ESSAY_KEYS.index((et, el)) for et, el, _ in ESSAYS]
def membership(cohort, slim, wide):
    # yields (slim text, wide text) chunks, each only if asked for; drafts[(combo, dt, dl)] -> draft id,
    # essays[(combo, dt, dl)] -> the draft's essay ids
    drafts, essays = {{}}, {{}}
    yield ("stage,gen_id\\n" if slim else "",
           "stage,gen_id,origin_cohort_id,parent_gen_id,combo_id,template_id,llm_model_id,replicate\\n" if wide else "")
    for combo in combos:
        s, w = [], []
        for dt in DRAFTS:
            for dl in DRAFT_LLMS:
                d = drafts[combo, dt, dl] = gen_id("d_", f"{{combo}}|{{dt}}|{{dl}}|1")
                if slim:
                    s.append(f"draft,{{d}}\\n")
                if wide:
                    w.append(f"draft,{{d}},{{cohort}},,{{combo}},{{dt}},{{dl}},1\\n")
        yield "".join(s), "".join(w)
    for (combo, dt, dl), d in drafts.items():
        ids = essays[combo, dt, dl] = [gen_id("e_", f"{{d}}|{{et}}|1") for et, _ in ESSAY_KEYS]
        yield ("".join([f"essay,{{e}}\\n" for e in ids]) if slim else "",
               "".join([f"essay,{{e}},{{cohort}},{{d}},{{combo}},{{et}},{{el}},1\\n" for e, (et, el) in zip(ids, ESSAY_KEYS)])
               if wide else "")
    for combo in combos:
        s, w = [], []
        for dt in DRAFTS:
            for dl, vl in JUDGES:
                ids = essays[combo, dt, dl]
                for rep in REPLICATES:
                    for k, (et, el, vt) in zip(ESSAY_INDEX, ESSAYS):
                        e = ids[k]
                        v = gen_id("v_", f"{{e}}|{{vt}}|{{vl}}|{{rep}}")
                        if slim:
                            s.append(f"evaluation,{{v}}\\n")
                        if wide:
                            w.append(f"evaluation,{{v}},{{cohort}},{{e}},{{combo}},{{vt}},{{vl}},{{rep}}\\n")
        yield "".join(s), "".join(w)
"""

# `cohort-dsl membership SPEC --cohort-id bench [--wide]` (argv: OUT [wide])
TIGHT_MEMBERSHIP = MEMBERSHIP_PRELUDE + """\
wide = len(sys.argv) > 2
with open(sys.argv[1], "w") as out:
    for slim_text, wide_text in membership("bench", not wide, wide):
        out.write(wide_text if wide else slim_text)
"""

# `cohort-dsl materialize bench` (argv: SPEC_DIR OUT_DIR): the membership
# once, written as membership.csv and membership_wide.csv (hashed as they
# are written), then manifest.json with the counts the structure gives;
# each file staged beside its target, fsynced and renamed into place, as the
# tool does. The environment digest (cohort-dsl's code and settings) is the
# tool's, passed in: it is a digest of cohort-dsl itself.
TIGHT_MATERIALIZE = MEMBERSHIP_PRELUDE + """\
import hashlib, json, os
spec_dir, out_dir = sys.argv[1], sys.argv[2]
def staged(name):
    return open(os.path.join(out_dir, "." + name + ".tmp"), "w", encoding="utf-8", newline="")
def publish(handle, name):
    handle.flush()
    os.fsync(handle.fileno())
    handle.close()
    os.replace(handle.name, os.path.join(out_dir, name))
slim_sha, wide_sha = hashlib.sha256(), hashlib.sha256()
slim, wide = staged("membership.csv"), staged("membership_wide.csv")
for slim_text, wide_text in membership("bench", True, True):
    slim.write(slim_text)
    wide.write(wide_text)
    slim_sha.update(slim_text.encode())
    wide_sha.update(wide_text.encode())
drafts = len(combos) * len(DRAFTS) * len(DRAFT_LLMS)
essays = drafts * len(ESSAY_KEYS)
evaluations = len(combos) * len(DRAFTS) * len(JUDGES) * len(REPLICATES) * len(ESSAYS)
def stage(count, templates, llms, replicates):
    return {{"count": count, "templates": sorted(set(templates)), "llms": sorted(set(llms)), "replicates": replicates}}
files = {{}}
for folder, _, names in sorted(os.walk(spec_dir)):
    for name in names:
        path = os.path.join(folder, name)
        with open(path, "rb") as handle:
            files[os.path.relpath(path, spec_dir).replace(os.sep, "/")] = blake2b(handle.read(), digest_size=16).hexdigest()
files = dict(sorted(files.items()))
listing = "".join(f"{{name}}\\0{{digest}}\\n" for name, digest in files.items())
manifest = {{
    "cohort_id": "bench", "layout": "two-phase", "combos": sorted(combos),
    "stages": {{"draft": stage(drafts, DRAFTS, DRAFT_LLMS, {{"1": drafts}}),
               "essay": stage(essays, [et for et, _ in ESSAY_KEYS], [el for _, el in ESSAY_KEYS], {{"1": essays}}),
               "evaluation": stage(evaluations, [vt for _, _, vt in ESSAYS], [vl for _, vl in JUDGES],
                                   {{rep: evaluations // len(REPLICATES) for rep in REPLICATES}})}},
    "membership": {{"file": "membership.csv", "rows": drafts + essays + evaluations, "sha256": slim_sha.hexdigest()}},
    "wide": {{"file": "membership_wide.csv", "sha256": wide_sha.hexdigest()}},
    "spec": {{"digest": blake2b(listing.encode(), digest_size=16).hexdigest(), "files": files}},
    "catalogs": {{}},
    "environment": {environment!r},
    "tool": {{"name": "cohort-dsl", "version": {version!r}}},
}}
out = staged("manifest.json")
out.write(json.dumps(manifest, indent=2, ensure_ascii=False) + "\\n")
publish(wide, "membership_wide.csv")
publish(out, "manifest.json")
publish(slim, "membership.csv")
"""


# The membership service (run with the data root as argv[1]); each prints
# CPU seconds as JSON. The floor reads membership.csv into a dict of ids
# (what the first cohorts_containing must know) and the wide file into a
# dict of parents (what the first parent must know).
SERVICE_FLOOR = """\
import csv, json, sys, time
from pathlib import Path
folder = next(p for p in (Path(sys.argv[1]) / "cohorts").iterdir() if p.is_dir())
start = time.process_time()
with open(folder / "membership.csv", newline="") as handle:
    reader = csv.reader(handle)
    column = next(reader).index("gen_id")
    ids = {row[column]: True for row in reader}
containing = time.process_time() - start
start = time.process_time()
with open(folder / "membership_wide.csv", newline="") as handle:
    reader = csv.reader(handle)
    header = next(reader)
    at, parent_at = header.index("gen_id"), header.index("parent_gen_id")
    parents = {row[at]: row[parent_at] for row in reader}
parent = time.process_time() - start
print(json.dumps({"ids": len(ids), "containing": containing, "parent": parent}))
"""

SERVICE_TOOL = """\
import csv, json, sys, time
from pathlib import Path
from cohort_dsl.service import MembershipService
folder = next(p for p in (Path(sys.argv[1]) / "cohorts").iterdir() if p.is_dir())
with open(folder / "membership.csv", newline="") as handle:
    last = list(csv.reader(handle))[-1][1]
service = MembershipService(sys.argv[1])
start = time.process_time()
service.cohorts_containing(last)
containing = time.process_time() - start
start = time.process_time()
service.parent(last)
parent = time.process_time() - start
index = service.index()
sample = [index.gen_id(row) for row in range(0, len(index.hashes), 1000)]
start = time.perf_counter()
for gen_id in sample:
    service.cohorts_containing(gen_id)
    service.parent(gen_id)
answer = (time.perf_counter() - start) / (2 * len(sample))
held = sys.getsizeof(index.text) + sum(a.buffer_info()[1] * a.itemsize
                                       for a in (index.starts, index.hashes, index.rows, *index.parent_rows()))
print(json.dumps({"ids": len(index.hashes), "containing": containing, "parent": parent, "answer": answer,
                  "bytes_per_id": held / len(index.hashes)}))
"""
