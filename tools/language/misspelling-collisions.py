#!/usr/bin/env python3
"""Lists real English words that the checker's misspelling tolerance would mistake for a rule word.

The checker treats a word of 6+ letters that is one edit away from a rule word (same first letter) as a
misspelling of it. Real words such as "migrated" (vs "migrant") must not be. This script reads the catalog and a
word list (default /usr/share/dict/american-english and british-english, Debian packages wamerican/wbritish) and
prints the collisions; put them in the catalog's "notMisspellings" list.

It mirrors Stemmer.cs and PatternCompiler.cs closely enough for this purpose (lower case, apostrophes removed).
Usage: tools/language/misspelling-collisions.py [src/Domain/Language/Catalog/rules.json] [wordlist ...]
"""
import itertools, json, re, sys

def stem(w):
    n = len(w)
    if n > 4 and (w.endswith("ies") or w.endswith("ied")):
        w = w[:-3] + "y"
    elif n >= 6 and w.endswith("ing"):
        w = undouble(w[:-3])
    elif n >= 5 and w.endswith("ed"):
        w = undouble(w[:-2])
    elif n >= 4 and w[-1] == "s" and w[-2] not in "sui":
        w = w[:-1]
    if len(w) > 3 and w[-1] == "e":
        w = w[:-1]
    return w

def undouble(w):
    if len(w) >= 3 and w[-1] == w[-2] and w[-1] not in "lsz" and w[-1].isalpha():
        return w[:-1]
    return w

def within_one(a, b):
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) < len(b):
        a, b = b, a
    i = 0
    while i < len(b) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        if i == len(a):
            return True
        if a[i + 1:] == b[i + 1:]:
            return True
        return i + 1 < len(a) and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2:] == b[i + 2:]
    return a[i + 1:] == b[i:]

def expand(pattern):
    parts = re.split(r"(\([^()]*\))", pattern.lower())
    options = [p[1:-1].split("|") if p.startswith("(") else [p] for p in parts]
    for combo in itertools.product(*options):
        yield " ".join(combo)

def words_of(text):
    return [w for w in re.split(r"[^a-z0-9]+", text.replace("'", "")) if w]

def main():
    catalog_path = sys.argv[1] if len(sys.argv) > 1 else "src/Domain/Language/Catalog/rules.json"
    lists = sys.argv[2:] or ["/usr/share/dict/american-english", "/usr/share/dict/british-english"]
    catalog = json.load(open(catalog_path, encoding="utf-8"))
    vocab = set()
    for rule in catalog["rules"]:
        for pattern in rule["patterns"]:
            for variant in expand(pattern):
                vocab.update(stem(w) for w in words_of(variant.replace("-", " ")))
                vocab.update(stem(w) for w in words_of(variant.replace("-", "")))
    known = {stem(w) for w in catalog.get("notMisspellings", [])}
    targets = [v for v in vocab if len(v) >= 5]
    collisions = {}
    for path in lists:
        for line in open(path, encoding="utf-8", errors="ignore"):
            word = line.strip().lower().replace("'", "")
            if len(word) < 6 or not word.isalpha() or not word.isascii():
                continue
            s = stem(word)
            if s in vocab or s in known:
                continue
            if any(t[0] == s[0] and within_one(s, t) for t in targets):
                if s not in collisions or len(word) < len(collisions[s]):
                    collisions[s] = word
    print(json.dumps(sorted(collisions.values())))

main()
