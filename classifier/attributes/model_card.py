"""Write ``models/MODEL_CARD.md`` from the manifest, so the card's figures are the recorded ones::

python -m classifier.attributes.model_card --models models
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from classifier.attributes.manifest import EMOTION_ENTRY, ENTRY_NAME, read_manifest

TARGETS = (
    "age MAE <= 4.7 years, gender accuracy >= 94.5 % (women and men within 2 points), children under 13 "
    "gender >= 80 %, emotion >= 67 %, <= 5 ms per face, gender >= 88 % at 32 px face width (degraded)"
)
# The store-camera table's assumptions: a 1080p camera with the perception stage's defaults
# (signage.audience.config.TrackerConfig: 60 degree horizontal field of view, a 16 cm wide face).
CAMERA_WIDTH_PX = 1920
CAMERA_HFOV_DEG = 60.0
FACE_WIDTH_M = 0.16
DISTANCES_M = (1.0, 3.0, 5.0)


def _f(value: Any, pct: bool = False) -> str:
    if value is None:
        return "-"
    return f"{100 * float(value):.1f} %" if pct else f"{float(value):.2f}"


def _missed_targets(
    test: dict[str, Any], degraded: dict[str, Any] | None = None
) -> tuple[list[str], list[str]]:
    """(met, missed) target names, judged on the held-out figures."""
    gender = test.get("by_gender") or {}
    accs = [g.get("gender_accuracy") for g in gender.values() if g.get("gender_accuracy") is not None]
    child = ((test.get("by_age_band") or {}).get("child") or {}).get("gender_accuracy")
    at32 = (((degraded or {}).get("conditions") or {}).get("face_32px") or {}).get("gender_accuracy")
    checks = {
        "age MAE": test.get("age_mae") is not None and test["age_mae"] <= 4.7,
        "gender accuracy": test.get("gender_accuracy") is not None and test["gender_accuracy"] >= 0.945,
        "the women/men gender gap": len(accs) == 2 and abs(accs[0] - accs[1]) <= 0.02,
        "children's gender": child is not None and child >= 0.80,
        "emotion accuracy": test.get("emotion_accuracy") is not None and test["emotion_accuracy"] >= 0.67,
        "speed": test.get("ms_per_face") is not None and test["ms_per_face"] <= 5.0,
        "gender at 32 px": at32 is not None and at32 >= 0.88,
    }
    return [k for k, ok in checks.items() if ok], [k for k, ok in checks.items() if not ok]


def face_px_at(distance_m: float) -> float:
    """How wide (px) a face is in a 1080p frame at this distance, pinhole model."""
    return CAMERA_WIDTH_PX * FACE_WIDTH_M / (2.0 * distance_m * math.tan(math.radians(CAMERA_HFOV_DEG) / 2.0))


def store_camera_section(degraded: dict[str, Any] | None) -> list[str]:
    """The ``--degrade`` figures: per condition, per yaw, the advice, and what 1/3/5 m means."""
    if not degraded:
        return ["No store-camera figures yet: run `signage evaluate --degrade --record`.", ""]
    conditions = degraded.get("conditions") or {}
    lines = [
        f"Command: `{degraded.get('command', '')}`",
        "",
        "| condition | age MAE | gender | women | men | children | emotion |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, m in conditions.items():
        lines.append(
            f"| {name} | {_f(m.get('age_mae'))} | {_f(m.get('gender_accuracy'), True)} | "
            f"{_f(m.get('gender_accuracy_female'), True)} | {_f(m.get('gender_accuracy_male'), True)} | "
            f"{_f(m.get('gender_accuracy_child'), True)} | {_f(m.get('emotion_accuracy'), True)} |"
        )
    bins = degraded.get("by_yaw") or []
    if bins:
        lines += [
            "",
            f"By head yaw (the product's own pose estimate; {degraded.get('n_no_yaw', 0)} faces had none):",
            "",
            "| abs(yaw) | faces | age MAE | gender |",
            "|---|---|---|---|",
        ]
        for b in bins:
            lines.append(
                f"| {b['low_deg']:g}-{b['high_deg']:g} deg | {b['n']} | {_f(b.get('age_mae'))} | "
                f"{_f(b.get('gender_accuracy'), True)} |"
            )
    advice = degraded.get("recommendation") or {}
    if advice:
        lines += [
            "",
            f"From these figures (rule: {advice.get('rule')}): classify faces at least "
            f"{advice.get('min_face_px')} px wide (`perception.min_face_px_for_attributes`) and turned at most "
            f"{advice.get('max_yaw_deg')} degrees (the tracker's attribute yaw limit).",
        ]
    widths = sorted(
        (float(name.split("_")[1].removesuffix("px")), m)
        for name, m in conditions.items()
        if name.startswith("face_") and name.endswith("px")
    )
    if widths:
        lines += [
            "",
            f"What a store can expect with a 1080p camera ({CAMERA_WIDTH_PX} px wide, {CAMERA_HFOV_DEG:g} degree "
            f"field of view, a {100 * FACE_WIDTH_M:g} cm face), taking the figures of the nearest tested face "
            "width at or below the face's size (so the table errs low); light, blur and compression come on top:",
            "",
            "| distance | face width | figures of | age MAE | gender | children | emotion |",
            "|---|---|---|---|---|---|---|",
        ]
        for d in DISTANCES_M:
            px = face_px_at(d)
            below = [(w, m) for w, m in widths if w <= px]
            w, m = below[-1] if below else widths[0]
            source = "clean" if px >= 2 * widths[-1][0] and "clean" in conditions else f"{w:g} px"
            if source == "clean":
                m = conditions["clean"]
            lines.append(
                f"| {d:g} m | {px:.0f} px | {source} | {_f(m.get('age_mae'))} | "
                f"{_f(m.get('gender_accuracy'), True)} | {_f(m.get('gender_accuracy_child'), True)} | "
                f"{_f(m.get('emotion_accuracy'), True)} |"
            )
    return [*lines, ""]


def _epochs(training: dict[str, Any]) -> str:
    total, last = training.get("total_epochs"), training.get("epochs")
    if total and last and total != last:
        return f"{total} epochs in all (the last {last} a warm start with a fresh schedule)"
    return f"{last} epochs"


def _recipe_words(training: dict[str, Any], frozen: int) -> str:
    if str(training.get("recipe", "")).startswith("uniform model soup"):
        return f"the weight average (a {training['recipe'].removeprefix('uniform ')}) of fine-tuned runs"
    if str(training.get("recipe", "")).startswith("online"):
        trunk = "every EfficientNet block fine-tuned" if frozen == 0 else f"the first {frozen} blocks frozen"
        return f"{trunk} on crops augmented afresh each batch (store-camera degradations included)"
    return f"the first {frozen} EfficientNet blocks are frozen (their activations cached once)"


def _fit_notes(entry: dict[str, Any], test: dict[str, Any]) -> list[str]:
    """The limitation bullets that depend on this model's own figures."""
    met, missed = _missed_targets(test, (entry.get("metrics") or {}).get("held_out_degraded"))
    training = entry.get("training") or {}
    cal_split = (entry.get("metrics") or {}).get("calibration_split") or {}
    size = (entry.get("input") or {}).get("size_px")
    frozen = training.get("frozen_blocks", 5)
    if missed:
        verdict = f"**It misses {', '.join(missed)}** (met: {', '.join(met) or 'none'})"
    else:
        verdict = "**It meets every target on the held-out split**"
    notes = [
        f"- {verdict}; offline baselines the issue lists: face-api.js MAE 5.07, gender 93.9 %, expressions "
        f"57.0 %. It was trained on a 2-core CPU: {_recipe_words(training, frozen)}, the network sees {size} "
        f"px crops, {_epochs(training)}; the "
        f"calibration split ended at MAE {_f(cal_split.get('age_mae'))}, gender "
        f"{_f(cal_split.get('gender_accuracy'), True)}, emotion {_f(cal_split.get('emotion_accuracy'), True)}. "
        "Fewer frozen blocks, larger input and more epochs (a GPU run) are the next step.",
    ]
    bands = test.get("by_age_band") or {}
    child = (bands.get("child") or {}).get("gender_accuracy")
    old = [b.get("age_mae") for k, b in bands.items() if k in ("45-54", "55-64", "65+") and b.get("age_mae")]
    if child is not None and old:
        notes.append(
            f"- Children: gender accuracy is {_f(child, True)} (face-api.js: 77 %); age bands 45+ have "
            f"MAE {min(old):.1f}-{max(old):.1f} years. Pooling over a track narrows the spread but not "
            "a bias."
        )
    return notes


def emotion_net_section(entry: dict[str, Any] | None) -> list[str]:
    """The separate emotion network that ``AttributeModel`` blends in (manifest entry ``face_emotion``)."""
    if not entry:
        return []
    cal = (entry.get("metrics") or {}).get("calibration_split") or {}
    test = (entry.get("metrics") or {}).get("held_out_test") or {}
    w = entry.get("ensemble_weight")
    lines = [
        "## Emotion network (blended in)",
        "",
        f"File `{entry['file']}` ({entry.get('bytes', 0) / 1e6:.1f} MB), sha256 `{entry['sha256']}`, "
        f"trained {entry.get('date', '?')}: {entry.get('architecture', '')}. Its temperature-calibrated "
        f"probabilities are averaged with the attribute network's own, weight {_f(w)} on this network, "
        f"and the blend's temperature {_f(entry.get('blend_temperature', 1.0))} (both chosen on the calibration "
        "split); the emotion figures below are of the blend.",
        "",
        "| FER2013 | this network alone | attribute network alone | blend |",
        "|---|---|---|---|",
        f"| calibration split | {_f(cal.get('emotion_net_accuracy'), True)} | "
        f"{_f(cal.get('attribute_net_accuracy'), True)} | {_f(cal.get('blended_accuracy'), True)} |",
        f"| held-out PublicTest ({test.get('n_fer2013')} faces) | {_f(test.get('emotion_net_accuracy'), True)} | "
        f"{_f(test.get('attribute_net_accuracy'), True)} | {_f(test.get('blended_accuracy'), True)} |",
        "",
        "Trained with:",
        "",
    ]
    lines += [f"    {c}" for c in (entry.get("training") or {}).get("commands") or []]
    return [*lines, ""]


def render(entry: dict[str, Any], emotion_entry: dict[str, Any] | None = None) -> str:
    test = (entry.get("metrics") or {}).get("held_out_test")
    cal = entry.get("calibration", {})
    data = entry.get("data", {})
    lines = [
        "# Model card: face attributes (age, gender, emotion)",
        "",
        f"File `{entry['file']}` ({entry.get('bytes', 0) / 1e6:.1f} MB), sha256 `{entry['sha256']}`, "
        f"trained {entry.get('date', '?')}. Loaded by `classifier.attributes.AttributeModel.load(models/)`, "
        "which refuses a file whose sha256 differs from `manifest.yaml`.",
        "",
        "## What it is",
        "",
        f"- {entry.get('architecture', '')}.",
        f"- Input: {entry.get('input', {}).get('crop', '')}; RGB, {entry.get('input', {}).get('size_px')} px.",
        "- Outputs per face: age (Laplace mean and spread, reported as mean and standard deviation in years), "
        "P(female), a distribution over 7 emotions (angry, disgust, fear, happy, neutral, sad, surprise).",
        f"- Calibration (fitted on the calibration split only): gender temperature "
        f"{_f(cal.get('gender_temperature'))}, emotion temperature {_f(cal.get('emotion_temperature'))}, "
        f"age-spread factor {_f(cal.get('age_scale_factor'))}.",
        "",
        *emotion_net_section(emotion_entry),
        "## Intended use",
        "",
        "Aggregate audience statistics for a digital-signage screen (how many people, which age bands, the mood "
        "of the room), pooled over a person's whole track by the perception stage. Not for identifying anyone, "
        "not for decisions about an individual, never for verifying age for restricted products: the "
        "`possible_minor` flag is deliberately cautious and only stops targeting.",
        "",
        "## Data and splits",
        "",
    ]
    for name, info in data.items():
        lines.append(
            f"- **{name}**: {info.get('n_train')} train, {info.get('n_calibration')} calibration; "
            f"{info.get('split')}."
        )
    commands = (entry.get("training") or {}).get("commands") or []
    if commands:
        resumed = (
            (
                " (seeded; each later command resumes the checkpoint before it or, with --init, starts "
                "from the weights it wrote)"
            )
            if len(commands) > 1
            else " (seeded)"
        )
        lines += ["", f"Trained with{resumed}:", ""]
        lines += [f"    {c}" for c in commands]
    lines += ["", "## Held-out results", ""]
    if not test:
        training = entry.get("training") or {}
        cal_split = (entry.get("metrics") or {}).get("calibration_split") or {}
        lines += [
            "Not evaluated yet: run `signage evaluate ... --record`.",
            "",
            f"Recipe: {_recipe_words(training, training.get('frozen_blocks', 5))}, {_epochs(training)}. "
            f"Calibration split (model selection only): MAE {_f(cal_split.get('age_mae'))}, gender "
            f"{_f(cal_split.get('gender_accuracy'), True)}, emotion {_f(cal_split.get('emotion_accuracy'), True)}.",
            "",
        ]
        return "\n".join(lines)
    lines += [
        f"Targets: {TARGETS}.",
        "",
        f"Command: `{test.get('command', '')}`",
        "",
        "| metric | value |",
        "|---|---|",
        f"| age MAE (years), {test['n_utkface']} UTKFace faces | {_f(test['age_mae'])} |",
        f"| gender accuracy | {_f(test['gender_accuracy'], True)} |",
        f"| emotion accuracy, {test['n_fer2013']} FER2013 faces | {_f(test['emotion_accuracy'], True)} |",
        f"| gender ECE (calibration error) | {_f(test.get('gender_ece'), True)} |",
        f"| emotion ECE | {_f(test.get('emotion_ece'), True)} |",
        f"| true age within mean +/- 1 predicted std (68 % if calibrated) | "
        f"{_f(test.get('age_within_1std'), True)} |",
        f"| inference, ms per face (batched, one thread) | {_f(test['ms_per_face'])} |",
        f"| faces found by the detector (rest: whole image) | UTKFace {test.get('faces_detected_utkface')}, "
        f"FER2013 {test.get('faces_detected_fer2013')} |",
        "",
        "### Fairness: by age band and gender (UTKFace held-out)",
        "",
        "| group | n | age MAE (years) | gender accuracy |",
        "|---|---|---|---|",
    ]
    for group in (test["by_age_band"], test["by_gender"]):
        for name, g in group.items():
            lines.append(f"| {name} | {g['n']} | {_f(g['age_mae'])} | {_f(g['gender_accuracy'], True)} |")
    lines += [
        "",
        "### Emotion recall per class (FER2013 held-out)",
        "",
        "| emotion | n | recall |",
        "|---|---|---|",
    ]
    for name, e in test.get("by_emotion", {}).items():
        lines.append(f"| {name} | {e['n']} | {_f(e['recall'], True)} |")
    lines += [
        "",
        "## Store cameras (`signage evaluate --degrade`)",
        "",
        *store_camera_section((entry.get("metrics") or {}).get("held_out_degraded")),
        "## Limitations",
        "",
        *_fit_notes(entry, test),
        "- UTKFace labels are apparent/self-reported ages scraped from the web, mostly frontal, well-lit, "
        "with few faces over 80 or of some ethnicities; store cameras see faces from above, at 1-5 m, "
        "in mixed light, so expect larger errors in the field than here.",
        "- Gender is a binary label in the training data; the model outputs P(female) only and cannot "
        "represent non-binary people. Children's gender is much harder and is less accurate (see the table).",
        "- FER2013 is grayscale, 48 px, with noisy labels and posed expressions; `disgust` has very few "
        "examples and low recall. Emotion on colour camera crops is out of the evaluated distribution "
        "(UTKFace colour faces were trained with random grey-scale only for age and gender).",
        "- Calibration was fitted on in-distribution calibration splits; temperatures may not hold on a new "
        "camera. The perception stage pools many frames per track, which reduces but does not remove this.",
        "- Research-only training data (UTKFace, FER2013): check the licence terms before commercial use.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=Path("models"))
    args = parser.parse_args(argv)
    models = read_manifest(args.models)["models"]
    out = args.models / "MODEL_CARD.md"
    out.write_text(render(models[ENTRY_NAME], models.get(EMOTION_ENTRY)), encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
