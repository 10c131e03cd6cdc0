"""Ad copy quality bench: is the copy the studio shows first usable, and do its checks tell the truth?

    python bench/copy_quality.py            # every brief of bench/data/copy_briefs.jsonl, both embedded models
    python bench/copy_quality.py --quick    # 8 English + 4 Chinese briefs, default model per language (< 1 min)
    python bench/copy_quality.py --dump out.jsonl   # also write every candidate (for labelling by hand)

(a) The checks against hand-labelled variants (bench/data/copy_labelled.jsonl: real model outputs and
    hand-written copy for the bench briefs, each labelled usable / not usable by reading it): precision and
    recall of "passes every check" on "usable". Target: precision >= 0.9. The rules were written while reading
    that set, so the same figures are also given on bench/data/copy_labelled_heldout.jsonl: fresh candidates of
    Gemma 3 270M in two batches (new seeds), labelled by a reviewer who saw only the brief and the text, not the
    checks' verdicts — the honest estimate, with its 95% Wilson interval. Batch 1 was read once after labelling
    (two general rules came from its failures); batch 2 was generated and labelled after the last rule change.
(b) Generation on the labelled briefs (bench/data/copy_briefs.jsonl, EN and ZH, every channel): for each
    model, 4 variants asked, best of 3x candidates. For the top variant and for all shown variants: share that
    name the product, cover the key points they need, have anything invented, are in the right language, fit
    the channel, pass every check — for the OLD ranking (the weighted score over the same candidates, nothing
    held back) and the NEW one (checks first, only passing variants shown). Targets: the new top variant
    passes every check for >= 90% of EN briefs on the embedded model; no shown variant has an invented URL,
    e-mail or phone number.
Ends with ``RESULT <name> value=<v> baseline=<b> ratio=<r> target=<t> PASS|FAIL`` lines.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
sys.path.insert(0, os.path.dirname(_HERE))

import argparse  # noqa: E402 - after the sys.path fix above
import json  # noqa: E402 - after the sys.path fix above
import tempfile  # noqa: E402 - after the sys.path fix above
import time  # noqa: E402 - after the sys.path fix above
from pathlib import Path  # noqa: E402 - after the sys.path fix above
from typing import Any  # noqa: E402 - after the sys.path fix above

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

DATA = Path(__file__).with_name("data")
CONTACT = {"url", "email", "phone"}


def result_line(name: str, value: float, baseline: float, target: float, *, absolute: bool = False) -> str:
    """One RESULT line. ``absolute``: the target applies to the value itself (ratio = value / baseline shown)."""
    ratio = value / baseline if baseline else 0.0
    ok = (value >= target) if absolute else (ratio >= target)
    return (
        f"RESULT {name} value={value:.4g} baseline={baseline:.4g} ratio={ratio:.3g} target={target:g} "
        f"{'PASS' if ok else 'FAIL'}"
    )


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSON-lines file."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


HELDOUT_BATCHES = {
    1: " (--seed 9001; the offer-in-part and ends-on-'no' rules were written after reading its failures)",
    2: " (--seed 52000; after every rule was fixed: clean)",
    3: " (--seed 130000; measured with the batch-2 rules, then read: the moved-figure rule came from its failures)",
    4: " (--seed 271000; after the moved-figure rule: clean)",
}
SEED = 1234  # the generation seed of the labelled runs (--seed: another one gives fresh candidates)


def brief_of(row: dict[str, Any], n: int = 4, seed: int = SEED) -> dict[str, Any]:
    """A Brief dict from a bench row."""
    return {
        "product": row["product"],
        "key_points": "\n".join(row["key_points"]),
        "audience": row.get("audience", ""),
        "channel": row["channel"],
        "tone": row.get("tone", ""),
        "language": row["language"],
        "n_variants": n,
        "seed": seed,
    }


# (a) checks vs labels ------------------------------------------------------------------------------
def check_precision(labelled: list[dict[str, Any]], briefs: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Precision / recall of 'passes every check' on the hand label 'usable'."""
    from aigc_core.copy.brief import validate_brief
    from aigc_core.copy.checks import evaluate
    from aigc_core.copy.examples import select
    from aigc_core.copy.generate import N_EXAMPLES
    from aigc_core.copy.limits import enforce

    tp = fp = fn = tn = 0
    wrong: list[tuple[str, bool, list[str]]] = []
    for row in labelled:
        b = validate_brief(brief_of(briefs[row["brief_id"]]))
        text = row["text"]
        _, limit = enforce(text, b.channel, b.language)
        rep = evaluate(
            [text],
            product=b.product,
            points=b.points(),
            brief_text=b.as_text(),
            language=b.language,
            channel=b.channel,
            examples=[f"{e.product}\n{e.copy}" for e in select(b, N_EXAMPLES, use_history=False)],
        )[0]
        passes = rep.passes and limit.original_length <= limit.max
        usable = bool(row["usable"])
        tp += passes and usable
        fp += passes and not usable
        fn += (not passes) and usable
        tn += (not passes) and not usable
        if passes != usable:
            wrong.append((text, usable, rep.failures()))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    low, high = wilson(tp, tp + fp)
    print(f"labelled variants: {len(labelled)} (usable {tp + fn}); passes: TP {tp} FP {fp} FN {fn} TN {tn}")
    print(f"  precision {precision:.3f} (95% Wilson interval {low:.3f}-{high:.3f} over {tp + fp} passing variants)")
    for text, usable, why in wrong[:12]:
        print(f"  {'missed usable' if usable else 'passed unusable'}: {text[:100]!r} {why[:2]}")
    return {
        "precision": precision,
        "recall": recall,
        "n": float(len(labelled)),
        "base_rate": (tp + fn) / len(labelled),
        "low": low,
        "high": high,
    }


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a proportion k/n ((0, 1) when n is 0)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


# (b) generation -----------------------------------------------------------------------------------
def stats(variants: list[Any]) -> dict[str, bool]:
    """The five questions for one variant (None-safe)."""
    rep = variants[0].checks if variants else None
    v = variants[0] if variants else None
    if rep is None or v is None:
        return dict.fromkeys(("product", "points", "invented", "contact", "language", "limits", "passes"), False)
    return {
        "product": rep.product_named or not rep.needs_product,
        "points": len(rep.covered) >= rep.needs_points,
        "invented": bool(rep.findings),
        "contact": any(f.kind in CONTACT for f in rep.findings),
        "language": rep.language_ok,
        "limits": v.limit.ok,
        "passes": v.passes,
    }


def run_model(
    model: str,
    rows: list[dict[str, Any]],
    dump: list[dict[str, Any]] | None,
    dump_path: Path | None = None,
    *,
    labels: dict[tuple[str, str], bool] | None = None,
    n: int = 4,
    seed: int = SEED,
) -> dict[str, Any]:
    """Generate for every brief; old vs new ranking on the same candidates."""
    from aigc_core.copy import generate as gen
    from aigc_core.copy import ranking
    from aigc_core.copy.lm import load_language_model

    t0 = time.perf_counter()
    lm = load_language_model(model)
    load_s = time.perf_counter() - t0
    out: dict[str, Any] = {"model": model, "backend": lm.backend, "load_s": load_s, "rows": []}
    tokens = seconds = 0.0
    for row in rows:
        res = gen.generate_copy(brief_of(row, n, seed), lm=lm, sentiment=False, use_history=False)
        tokens += res.new_tokens
        seconds += res.seconds
        every = [*res.variants, *res.held_back]
        old = sorted(every, key=lambda v: ranking.combined(v.scores), reverse=True)  # the old ranking
        shown_old = old[:4]
        out["rows"].append(
            {
                "id": row["id"],
                "language": row["language"],
                "new_top": stats(res.variants),
                "old_top": stats(old),
                "new_shown": [stats([v]) for v in res.variants],
                "old_shown": [stats([v]) for v in shown_old],
                "top_text": res.variants[0].text if res.variants else "",
                "old_text": old[0].text if old else "",
                # hand label of the top variant, when that exact text is in the labelled set (None: not labelled)
                "new_top_usable": (labels or {}).get((row["id"], res.variants[0].text)) if res.variants else False,
                "old_top_usable": (labels or {}).get((row["id"], old[0].text)) if old else False,
            }
        )
        if dump is not None:
            fresh = [{"brief_id": row["id"], "model": model, "text": v.text, "passes": v.passes} for v in every]
            dump.extend(fresh)
            if dump_path is not None:  # written as it goes: a long run can be labelled while it runs
                with dump_path.open("a", encoding="utf-8") as fh:
                    fh.writelines(json.dumps(d, ensure_ascii=False) + "\n" for d in fresh)
        print(
            f"  {row['id']}: {len(res.variants)} shown of {res.candidates} candidates "
            f"in {res.seconds:.1f}s; top: {(res.variants[0].text if res.variants else '-')[:70]!r}",
            flush=True,
        )
    out["tokens_per_s"] = tokens / seconds if seconds else 0.0
    return out


def share(rows: list[dict[str, Any]], key: str, what: str, language: str) -> float:
    """Share of briefs (top) or of shown variants with ``what`` true."""
    sel = [r for r in rows if r["language"] == language]
    vals = [r[key][what] for r in sel] if key.endswith("_top") else [s[what] for r in sel for s in r[key]]
    return sum(vals) / len(vals) if vals else 0.0


def main() -> int:
    from aigc_core.users.roles import SYSTEM, set_process_actor

    set_process_actor(SYSTEM)  # a bench is the operator's own run: it may load models from folders
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--dump", type=Path)
    ap.add_argument("--models", default="", help="comma-separated model values (default: both embedded models)")
    ap.add_argument("--limit", type=int, default=0, help="at most this many briefs (two English, one Chinese, …)")
    ap.add_argument("--seed", type=int, default=SEED, help="generation seed (another seed: fresh candidates to label)")
    args = ap.parse_args()
    os.environ.setdefault("AIGC_DATA_DIR", str(Path(tempfile.gettempdir()) / "aigc-bench-data"))

    briefs = {r["id"]: r for r in load_jsonl(DATA / "copy_briefs.jsonl")}
    lines: list[str] = []
    labelled_path = DATA / "copy_labelled.jsonl"
    labelled = load_jsonl(labelled_path) if labelled_path.is_file() else []
    labels = {(r["brief_id"], r["text"]): bool(r["usable"]) for r in labelled}
    if labelled:
        pr = check_precision(labelled, briefs)
        print(f"checks: precision {pr['precision']:.3f} recall {pr['recall']:.3f} (base rate {pr['base_rate']:.3f})")
        lines.append(result_line("copy_checks_precision", pr["precision"], pr["base_rate"], 0.9, absolute=True))
        lines.append(result_line("copy_checks_recall", pr["recall"], 1.0, 0.0, absolute=True))
    heldout_path = DATA / "copy_labelled_heldout.jsonl"
    if heldout_path.is_file():
        held = load_jsonl(heldout_path)
        for batch in sorted({int(r.get("batch", 1)) for r in held}):
            print(f"held-out batch {batch}{HELDOUT_BATCHES.get(batch, '')}:")
            check_precision([r for r in held if int(r.get("batch", 1)) == batch], briefs)
        print("held-out set, all batches (fresh candidates, labelled blind):")
        ph = check_precision(held, briefs)
        print(f"checks on held-out: precision {ph['precision']:.3f} recall {ph['recall']:.3f}")
        lines.append(result_line("copy_checks_precision_heldout", ph["precision"], ph["base_rate"], 0.9, absolute=True))
        lines.append(result_line("copy_checks_recall_heldout", ph["recall"], 1.0, 0.0, absolute=True))

    from aigc_core.copy.defaults import default_model_for

    en = sorted((r for r in briefs.values() if r["language"] == "en"), key=lambda r: int(r["id"][3:]) % 5)
    zh = sorted((r for r in briefs.values() if r["language"] == "zh"), key=lambda r: int(r["id"][3:]) % 3)
    if args.quick:  # one brief per language, one variant: the generation path end to end in under a minute
        en, zh = en[:1], zh[:1]
    models = [m for m in args.models.split(",") if m] or (
        [] if args.quick else ["smollm2-135m-instruct", "gemma3-270m"]
    )
    # quick: the default model of each language on its own briefs
    mixed = [r for pair in zip(en[::2], en[1::2], zh, strict=False) for r in pair]
    mixed += [r for r in en + zh if r not in mixed]  # two English briefs, then one Chinese, so a partial run has both
    if args.limit:
        mixed = mixed[: args.limit]
    plan = [(m, mixed) for m in models] if models else [(default_model_for("en"), en), (default_model_for("zh"), zh)]
    dump: list[dict[str, Any]] | None = [] if args.dump else None
    if args.dump:
        args.dump.write_text("", encoding="utf-8")
    results = []
    for model, rows in plan:
        t0 = time.perf_counter()
        res = run_model(model, rows, dump, args.dump, labels=labels, n=1 if args.quick else 4, seed=args.seed)
        res["seconds"] = time.perf_counter() - t0
        results.append(res)
        print(
            f"\n== {model} on {res['backend']}: {len(rows)} briefs in {res['seconds']:.0f}s, "
            f"{res['tokens_per_s']:.0f} new tokens/s (load {res['load_s']:.1f}s)"
        )
        for lang in ("en", "zh"):
            if not any(r["language"] == lang for r in res["rows"]):
                continue
            print(f"  {lang}: {'':18}top old -> new   | shown old -> new")
            for what in ("product", "points", "invented", "contact", "language", "limits", "passes"):
                top = [share(res["rows"], k, what, lang) for k in ("old_top", "new_top", "old_shown", "new_shown")]
                print(f"      {what:20} {top[0]:5.2f} -> {top[1]:5.2f}   | {top[2]:5.2f} -> {top[3]:5.2f}")
        for lang in ("en", "zh"):
            for side in ("old", "new"):
                known = [r[f"{side}_top_usable"] for r in res["rows"] if r["language"] == lang]
                known = [k for k in known if k is not None]
                if known:
                    print(
                        f"  {lang}: {side} top variant usable by hand label: {sum(known)}/{len(known)} labelled briefs"
                    )
        for r in res["rows"][:3]:
            print(f"    {r['id']}: new top {r['top_text'][:90]!r}\n           old top {r['old_text'][:90]!r}")
    if dump is not None and args.dump:
        print(f"wrote {len(dump)} candidates to {args.dump}")

    for lang in ("en", "zh"):
        best = None
        for res in results:
            if not any(r["language"] == lang for r in res["rows"]):
                continue
            new = share(res["rows"], "new_top", "passes", lang)
            old = share(res["rows"], "old_top", "passes", lang)
            name = f"copy_top_passes_{lang}_{res['model'].split('-')[0]}"
            lines.append(result_line(name, new, old, 0.9 if lang == "en" else 0.0, absolute=True))
            contact = share(res["rows"], "new_shown", "contact", lang)
            lines.append(
                f"RESULT copy_shown_invented_contact_{lang}_{res['model'].split('-')[0]} value={contact:.4g} "
                f"baseline={share(res['rows'], 'old_shown', 'contact', lang):.4g} ratio=0 target=0 "
                f"{'PASS' if contact == 0 else 'FAIL'}"
            )
            if best is None or new > best[1]:
                best = (res["model"], new)
        if best is not None:
            print(f"best embedded model for {lang}: {best[0]} (top passes {best[1]:.2f})")
    print()
    for line in lines:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
