#!/usr/bin/python3
"""A strict checker of the Prometheus text exposition format 0.0.4 (what promtool check metrics
checks for syntax), for tests/operator/test_trigctl_metrics.sh; promtool is not a dependency.

  promtext_check.py SCRAPE [SCRAPE2]   check each; with two, counters must not go down
  as a module: parse(text) -> {family: {"type", "help", "samples": {(name, labels): value}}}

Rules: HELP and TYPE at most once per family and before its samples; the samples of a family
contiguous; metric and label names valid; label values properly escaped; no duplicate series;
counters named *_total with values >= 0; histograms with _bucket{le} cumulative, a +Inf bucket
equal to _count, and _sum."""
import math
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}
SAMPLE_RE = re.compile(r"^(%s)(\{.*\})? (\S+)( -?[0-9]+)?$" % NAME)


class FormatError(Exception):
    pass


def parse_labels(text, where):
    """'{a="x",b="y"}' -> (("a","x"),("b","y")), validating escapes."""
    labels = []
    i, body = 1, text
    if not body.endswith("}"):
        raise FormatError(f"{where}: label set not closed")
    while i < len(body) - 1:
        m = re.compile(LABEL).match(body, i)
        if not m:
            raise FormatError(f"{where}: bad label name at {body[i:]!r}")
        name = m.group(0)
        i = m.end()
        if body[i : i + 2] != '="':
            raise FormatError(f"{where}: label {name} lacks =\"")
        i += 2
        value = []
        while True:
            if i >= len(body) - 1:
                raise FormatError(f"{where}: label value of {name} not closed")
            c = body[i]
            if c == "\\":
                nxt = body[i + 1]
                if nxt not in '\\"n':
                    raise FormatError(f"{where}: bad escape \\{nxt}")
                value.append({"n": "\n"}.get(nxt, nxt))
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == "\n":
                raise FormatError(f"{where}: raw newline in a label value")
            else:
                value.append(c)
                i += 1
        labels.append((name, "".join(value)))
        if body[i] == ",":
            i += 1
        elif body[i] != "}":
            raise FormatError(f"{where}: expected , or }} after label {name}")
    names = [n for n, _ in labels]
    if len(set(names)) != len(names):
        raise FormatError(f"{where}: repeated label name")
    return tuple(sorted(labels))


def parse_value(text, where):
    if text in ("+Inf", "-Inf", "NaN"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    try:
        return float(text)
    except ValueError:
        raise FormatError(f"{where}: value {text!r} is not a float")


def family_of(sample, families):
    """The declared family a sample name belongs to (histogram suffixes included)."""
    if sample in families:
        return sample
    for suffix in ("_bucket", "_sum", "_count"):
        if sample.endswith(suffix) and families.get(sample[: -len(suffix)], {}).get("type") in (
            "histogram",
            "summary",
        ):
            return sample[: -len(suffix)]
    return None


def parse(text):
    if not text.endswith("\n"):
        raise FormatError("the exposition does not end with a newline")
    families, finished, current = {}, set(), None
    for n, line in enumerate(text.split("\n")[:-1], 1):
        where = f"line {n}"
        if not line:
            raise FormatError(f"{where}: empty line")
        if line.startswith("#"):
            m = re.match(r"^# (HELP|TYPE) (%s) (.*)$" % NAME, line)
            if not m:
                if line.startswith("# HELP") or line.startswith("# TYPE"):
                    raise FormatError(f"{where}: malformed {line!r}")
                continue  # a plain comment
            kind, name, rest = m.groups()
            fam = families.setdefault(name, {"type": None, "help": None, "samples": {}})
            if name in finished or fam["samples"]:
                raise FormatError(f"{where}: {kind} for {name} after its samples")
            key = kind.lower()
            if fam[key] is not None:
                raise FormatError(f"{where}: second {kind} for {name}")
            if kind == "TYPE" and rest not in TYPES:
                raise FormatError(f"{where}: unknown type {rest!r}")
            if kind == "HELP" and re.search(r"\\[^\\n]", rest):
                raise FormatError(f"{where}: bad escape in HELP")
            fam[key] = rest
            if current and current != name:
                finished.add(current)
            current = name
            continue
        m = SAMPLE_RE.match(line)
        if not m:
            raise FormatError(f"{where}: not a sample line: {line!r}")
        sname, labels, value = m.group(1), m.group(2), m.group(3)
        fname = family_of(sname, families)
        if fname is None or families[fname]["type"] is None:
            raise FormatError(f"{where}: sample {sname} without a TYPE line before it")
        if fname in finished:
            raise FormatError(f"{where}: samples of {fname} are not contiguous")
        if current and current != fname:
            finished.add(current)
        current = fname
        key = (sname, parse_labels(labels, where) if labels else ())
        fam = families[fname]
        if key in fam["samples"]:
            raise FormatError(f"{where}: duplicate series {key}")
        fam["samples"][key] = parse_value(value, where)
    for name, fam in families.items():
        check_family(name, fam)
    return families


def check_family(name, fam):
    if fam["type"] is None:
        raise FormatError(f"{name}: HELP without TYPE")
    if fam["type"] == "counter":
        if not name.endswith("_total"):
            raise FormatError(f"counter {name} is not named *_total")
        for key, v in fam["samples"].items():
            if key[0] != name or not (v >= 0):
                raise FormatError(f"counter {name}: bad sample {key} = {v}")
    if fam["type"] == "histogram":
        series = {}
        for (sname, labels), v in fam["samples"].items():
            rest = tuple(l for l in labels if l[0] != "le")
            s = series.setdefault(rest, {"buckets": [], "sum": None, "count": None})
            if sname == name + "_bucket":
                le = dict(labels).get("le")
                if le is None:
                    raise FormatError(f"{name}_bucket without le")
                s["buckets"].append((parse_value(le, name), v))
            elif sname == name + "_sum":
                s["sum"] = v
            elif sname == name + "_count":
                s["count"] = v
            else:
                raise FormatError(f"histogram {name}: stray sample {sname}")
        for rest, s in series.items():
            b = sorted(s["buckets"])
            if not b or not math.isinf(b[-1][0]):
                raise FormatError(f"histogram {name}{rest}: no +Inf bucket")
            if s["count"] is None or s["sum"] is None:
                raise FormatError(f"histogram {name}{rest}: no _count or _sum")
            if any(b[i][1] > b[i + 1][1] for i in range(len(b) - 1)):
                raise FormatError(f"histogram {name}{rest}: buckets not cumulative")
            if b[-1][1] != s["count"]:
                raise FormatError(f"histogram {name}{rest}: +Inf bucket != _count")


def monotonic(f1, f2):
    """Counters (and histogram counts) never go down from scrape 1 to scrape 2."""
    for name, fam in f1.items():
        if fam["type"] not in ("counter", "histogram"):
            continue
        for key, v in fam["samples"].items():
            if fam["type"] == "histogram" and key[0] == name + "_sum":
                continue
            v2 = f2.get(name, {"samples": {}})["samples"].get(key)
            if v2 is None:
                raise FormatError(f"{key} vanished in the second scrape")
            if v2 < v:
                raise FormatError(f"counter {key} went down: {v} -> {v2}")


if __name__ == "__main__":
    try:
        scrapes = [parse(open(p).read()) for p in sys.argv[1:]]
        if len(scrapes) == 2:
            monotonic(*scrapes)
    except FormatError as e:
        print(f"promtext_check: {e}", file=sys.stderr)
        sys.exit(1)
    print(f"promtext_check: ok ({sum(len(f) for f in scrapes)} families)")
