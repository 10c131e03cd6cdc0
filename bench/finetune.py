"""Fine-tuning benchmark: quality of the offline MiniLM sentiment fine-tune and training throughput of our trainer
against a plain ``transformers.Trainer`` with default arguments (same model, same data, same run).

    python bench/finetune.py            # full: about 35 min on a 2-core CPU (26k tweets, one epoch)
    python bench/finetune.py --quick    # under a minute on CPU; the quality line is indicative only
    python bench/finetune.py --small-data   # the form's defaults on 100-300 rows vs the baseline (about 3 min)

Ends with ``RESULT <name> value=<v> baseline=<b> ratio=<r> target=<t> PASS|FAIL`` lines. The GPU section runs only
when CUDA is available (target 1.5x there).
"""

from __future__ import annotations

import sys
from pathlib import Path

# Running ``python bench/finetune.py`` puts bench/ first on sys.path; keep only the repository root so that
# aigc_core imports and no bench script can shadow a standard-library module.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "tweets_sentiment.csv"


def load_splits(n_train: int, n_val: int, n_test: int, seed: int = 0) -> tuple[pd.DataFrame, ...]:
    """Stratified, disjoint train/validation/test samples of the tweets (rows without a label dropped)."""
    from sklearn.model_selection import train_test_split

    df = pd.read_csv(DATA).dropna(subset=["text", "sentiment"]).drop_duplicates("text")
    df = df.rename(columns={"sentiment": "label"})[["text", "label"]].reset_index(drop=True)
    rest, test = train_test_split(df, test_size=n_test, stratify=df["label"], random_state=seed)
    rest, val = train_test_split(rest, test_size=n_val, stratify=rest["label"], random_state=seed)
    train = rest.sample(n=min(n_train, len(rest)), random_state=seed) if n_train < len(rest) else rest
    return train.reset_index(drop=True), val.reset_index(drop=True), test.reset_index(drop=True)


def result_line(name: str, value: float, baseline: float, target: float, ok: bool) -> str:
    ratio = value / baseline if baseline else float("inf")
    return (
        f"RESULT {name} value={value:.4f} baseline={baseline:.4f} ratio={ratio:.3f} target={target} "
        f"{'PASS' if ok else 'FAIL'}"
    )


# --------------------------------------------------------------------------------------------
def quality(quick: bool, work: Path) -> str:
    from aigc_core.finetune.classifier import prepare_classification, train_classifier
    from aigc_core.finetune.evaluate import classification_report, frozen_encoder_baseline, predict_logits, softmax
    from aigc_core.finetune.params import ClassifierJobParams, TrainParams
    from aigc_core.finetune.training import LocalContext, embedded_encoder_dir

    # Full mode trains on every tweet outside the validation and test samples (about 26k).
    n_train, n_val, n_test = (384, 100, 200) if quick else (10**9, 1000, 2000)
    train, val, test = load_splits(n_train, n_val, n_test)
    enc = embedded_encoder_dir()
    # --quick has ~24 steps: smaller batches and a higher learning rate, so its indicative figure shows learning.
    tp = TrainParams(
        epochs=1, learning_rate=2e-4 if quick else 1e-4, batch_size=16 if quick else 32, max_length=64, eval_steps=0,
        early_stopping_patience=3,
    )  # fmt: skip
    params = ClassifierJobParams(train=tp, text_column="text", label_column="label", class_weights=not quick)
    data = prepare_classification(train, val, test, "text", "label")
    print(f"[quality] train {len(train)}, validation {len(val)}, test {len(test)}; classes {data.class_counts}")
    t0 = time.perf_counter()
    outcome = train_classifier(enc, data, params, LocalContext(work / "quality", verbose=False))
    print(f"[quality] fine-tuned in {time.perf_counter() - t0:.0f} s ({outcome.global_step} steps)")
    probs = softmax(predict_logits(outcome.model, outcome.tokenizer, data.test_texts, max_length=tp.max_length))
    tuned = classification_report(data.test_y, probs.argmax(1), data.labels, probs=probs)
    base = frozen_encoder_baseline(
        enc, data.train_texts, data.train_y, data.test_texts, data.test_y, data.labels, max_length=tp.max_length
    )
    print(f"[quality] frozen encoder + logistic regression: macro-F1 {base.macro_f1:.4f}, accuracy {base.accuracy:.4f}")
    print(
        f"[quality] fine-tuned MiniLM:                     macro-F1 {tuned.macro_f1:.4f}, accuracy {tuned.accuracy:.4f}"
    )
    for name, row in tuned.per_class.items():
        print(f"[quality]   {name:>9}: P {row['precision']:.3f} R {row['recall']:.3f} F1 {row['f1']:.3f}")
    if quick:
        print("[quality] --quick trains on a small subsample for one epoch: the quality line is indicative only.")
    name = "finetune_minilm_sentiment_macro_f1" + ("_quick_indicative" if quick else "")
    return result_line(name, tuned.macro_f1, base.macro_f1, 0.75, tuned.macro_f1 >= 0.75)


# --------------------------------------------------------------------------------------------
def small_data(work: Path, sizes: tuple[int, ...] = (100, 160, 300)) -> list[str]:
    """The form's default settings on 100-300 labelled rows (classifier_train_defaults) against the frozen-encoder
    baseline on the same split (the issue: the plain defaults scored 0.315 against 0.950 on a 200-row upload)."""
    from aigc_core.finetune.classifier import prepare_classification, train_classifier
    from aigc_core.finetune.evaluate import classification_report, frozen_encoder_baseline, predict_logits, softmax
    from aigc_core.finetune.params import ClassifierJobParams, classifier_train_defaults
    from aigc_core.finetune.training import LocalContext, embedded_encoder_dir

    enc = embedded_encoder_dir()
    lines = []
    for n in sizes:
        train, val, test = load_splits(n, max(16, n // 8), 300)
        data = prepare_classification(train, val, test, "text", "label")
        tp = classifier_train_defaults(len(train))
        params = ClassifierJobParams(train=tp, text_column="text", label_column="label")
        t0 = time.perf_counter()
        out = train_classifier(enc, data, params, LocalContext(work / f"small{n}", verbose=False))
        probs = softmax(predict_logits(out.model, out.tokenizer, data.test_texts, max_length=tp.max_length))
        tuned = classification_report(data.test_y, probs.argmax(1), data.labels, probs=probs)
        base = frozen_encoder_baseline(
            enc, data.train_texts, data.train_y, data.test_texts, data.test_y, data.labels, max_length=tp.max_length
        )
        print(
            f"[small data] {len(train)} train rows: defaults {tp.epochs:g} epochs at {tp.learning_rate:g} "
            f"-> macro-F1 {tuned.macro_f1:.4f} vs frozen encoder + logistic regression {base.macro_f1:.4f} "
            f"({time.perf_counter() - t0:.0f} s, {out.global_step} steps)"
        )
        ratio_ok = tuned.macro_f1 >= base.macro_f1
        lines.append(result_line(f"finetune_small_data_defaults_n{n}", tuned.macro_f1, base.macro_f1, 1.0, ratio_ok))
    return lines


# --------------------------------------------------------------------------------------------
def _plain_trainer_speed(train: pd.DataFrame, labels: list[str], work: Path, device: str) -> tuple[float, float]:
    """(samples/s, samples per CPU-second) of ``Trainer`` with default ``TrainingArguments``.

    The tokenizer is passed as ``processing_class``, so the default collator pads each batch dynamically
    (the strongest "plain" set-up); only the device is forced.
    """
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, Trainer, TrainingArguments

    from aigc_core.finetune.training import embedded_encoder_dir

    enc_dir = embedded_encoder_dir()
    tok = AutoTokenizer.from_pretrained(str(enc_dir))
    index = {lab: i for i, lab in enumerate(labels)}
    enc = tok(train["text"].tolist(), truncation=True)
    y = [index[v] for v in train["label"]]

    class DS(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return len(y)

        def __getitem__(self, i: int) -> dict:
            return {"input_ids": enc["input_ids"][i], "attention_mask": enc["attention_mask"][i], "labels": y[i]}

    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(str(enc_dir), num_labels=len(labels))
    args = TrainingArguments(output_dir=str(work / "plain"), use_cpu=device == "cpu", disable_tqdm=True)
    trainer = Trainer(model=model, args=args, train_dataset=DS(), processing_class=tok)
    w0, c0 = time.perf_counter(), time.process_time()
    trainer.train()
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    return len(y) / wall, len(y) / cpu


def _our_speed(train: pd.DataFrame, work: Path, device: str, compile_model: bool = False) -> tuple[float, float]:
    """(samples/s, samples per CPU-second) of our trainer with its defaults."""
    from aigc_core.finetune.classifier import prepare_classification, train_classifier
    from aigc_core.finetune.params import ClassifierJobParams, TrainParams
    from aigc_core.finetune.training import LocalContext, embedded_encoder_dir

    data = prepare_classification(train, None, None, "text", "label")
    params = ClassifierJobParams(train=TrainParams(epochs=1, torch_compile=compile_model, save_total_limit=1))
    out = train_classifier(embedded_encoder_dir(), data, params, LocalContext(work / f"ours-{time.time_ns()}"),
                           device=device)  # fmt: skip
    n = len(data.train_texts)
    return n / out.train_runtime_s, n / max(out.extra["train_cpu_s"], 1e-9)


def throughput(work: Path, device: str, rounds: int, n: int, target: float, name: str) -> list[str]:
    """Interleaved rounds (plain, ours, plain, ours…); medians. On the CPU also per CPU-second, which a busy
    shared machine distorts far less than wall-clock time."""
    train, _, _ = load_splits(n, 200, 500, seed=1)
    labels = sorted(train["label"].unique())
    ours, plain = [], []
    # Warm-up (untimed): the first training in a process pays for lazy initialisation (thread pools, kernels).
    _plain_trainer_speed(train.head(min(64, n // 4)), labels, work / "warmup", device)
    for r in range(rounds):
        if r % 2 == 0:  # alternate which side runs first
            plain.append(_plain_trainer_speed(train, labels, work / f"p{r}", device))
            ours.append(_our_speed(train, work, device, compile_model=False))
        else:
            ours.append(_our_speed(train, work, device, compile_model=False))
            plain.append(_plain_trainer_speed(train, labels, work / f"p{r}", device))
        print(
            f"[throughput {device}] round {r + 1}: ours {ours[-1][0]:.2f} samples/s ({ours[-1][1]:.2f} per CPU-s), "
            f"plain Trainer {plain[-1][0]:.2f} samples/s ({plain[-1][1]:.2f} per CPU-s)",
            flush=True,
        )
    print(
        f"[throughput {device}] note: short runs inflate the ratio: the plain Trainer's random-length batches of 8 "
        "meet many new tensor shapes (on the CPU each new shape costs kernel set-up), which a long run amortises; "
        "use the full mode (more samples, more rounds) for the steady-state figure."
    )
    lines = []
    v, b = float(np.median([o[0] for o in ours])), float(np.median([p[0] for p in plain]))
    lines.append(result_line(name, v, b, target, v / b >= target))
    if device == "cpu":
        v, b = float(np.median([o[1] for o in ours])), float(np.median([p[1] for p in plain]))
        lines.append(result_line(name.replace("_per_s", "_per_cpu_s"), v, b, target, v / b >= target))
    return lines


def main() -> None:
    from aigc_core.users.roles import SYSTEM, set_process_actor

    set_process_actor(SYSTEM)  # a bench is the operator's own run: it may load models from folders
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small subsample; under a minute on CPU")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument(
        "--small-data", action="store_true", help="only the form's defaults on 100-300 rows vs the baseline (~3 min)"
    )
    args = parser.parse_args()
    import torch

    torch.set_num_threads(max(1, torch.get_num_threads()))
    lines = []
    with tempfile.TemporaryDirectory(prefix="bench-finetune-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        if args.small_data or not args.quick:
            lines += small_data(work)
        else:
            print("[small data] skipped by --quick (about 3 min): run with --small-data")
        if not args.skip_quality and not args.small_data:
            lines.append(quality(args.quick, work))
        if not args.skip_throughput and not args.small_data:
            n, rounds = (128, 1) if args.quick else (512, 4)
            lines += throughput(work, "cpu", rounds, n, 1.3, "finetune_cpu_train_samples_per_s")
            if torch.cuda.is_available():
                n_gpu = 1024 if args.quick else 8192
                lines += throughput(work, "cuda", 2, n_gpu, 1.5, "finetune_gpu_train_samples_per_s")
            else:
                print(
                    "[throughput cuda] skipped: no CUDA device (run this script on a GPU machine for the 1.5x target)"
                )
        print(f"[bench] total {time.perf_counter() - t0:.0f} s")
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
