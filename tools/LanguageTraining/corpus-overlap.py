# Overlap between labelled sets: exact duplicates (lower case, punctuation dropped) and near duplicates (word-set
# Jaccard >= 0.8, both with 4 words or more). Used to keep the validation sets and holdouts free of training text.
# usage: python3 tools/LanguageTraining/corpus-overlap.py NEW_GLOB... -- OTHER_GLOB...
#   prints each item of the new sets that overlaps an item of the others, and a count on stderr
import json, sys, glob, re
def norm(t): return " ".join(re.sub(r"[^\w\s]", " ", t.lower()).split())
def load(globs):
    out = []
    for g in globs:
        for f in sorted(glob.glob(g)):
            for l in open(f, encoding="utf-8"):
                if l.strip(): o = json.loads(l); out.append((f, o))
    return out
i = sys.argv.index("--"); new = load(sys.argv[1:i]); other = load(sys.argv[i+1:])
idx = {}
for f, o in other:
    idx.setdefault(norm(o["text"]), (f, o))
sets = [(set(norm(o["text"]).split()), f, o) for f, o in other]
hits = 0
for f, o in new:
    n = norm(o["text"]); w = set(n.split())
    if n in idx:
        hits += 1; print("EXACT", o["id"], "|", o["text"], "||", idx[n][0], idx[n][1]["id"]); continue
    if len(w) >= 4:
        for ws, f2, o2 in sets:
            if len(ws) >= 4 and len(w & ws) / len(w | ws) >= 0.8:
                hits += 1; print("NEAR", o["id"], "|", o["text"], "||", f2, o2["id"], "|", o2["text"]); break
print(f"{hits} of {len(new)} overlap", file=sys.stderr)
