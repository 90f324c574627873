"""A model soup: average the weights of fine-tuned models that share a starting point, keep it if it scores.

Runs of the training recipe that warm-start from the same weights land in one basin of the loss; the
average of their weights (a "uniform soup", Wortsman et al., 2022) is often better than each of them at
no inference cost. This tool averages the given models folders, scores every ingredient and the soup on
the training code's own calibration split (never the held-out test), refits the calibration on it, and
exports the soup as a models folder only when it beats the best ingredient::

    python -m classifier.attributes.soup --utkface UTKFace --fer2013 fer2013 --work-dir /tmp/work \\
        --out /tmp/soup models /tmp/run1/last /tmp/run2/last
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from dataclasses import replace
from pathlib import Path

import torch

from classifier.attributes.export import export_candidate, previous_commands
from classifier.attributes.manifest import ENTRY_NAME, read_manifest, write_entry
from classifier.attributes.model import AttributeModel
from classifier.attributes.model_card import render
from classifier.attributes.network import AttributeNet
from classifier.attributes.online import evaluate_split
from classifier.attributes.training import TrainConfig, TrainResult, prepare_data, selection_score

log = logging.getLogger(__name__)


def average_state(states: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The element-wise mean of floating-point tensors; integer buffers (batch-norm step counts) from the first."""
    if not states:
        raise ValueError("a soup needs at least one model")
    keys = states[0].keys()
    for other in states[1:]:
        if other.keys() != keys:
            raise ValueError("the models do not share one architecture (their weights differ in names)")
    out: dict[str, torch.Tensor] = {}
    for key in keys:
        first = states[0][key]
        if first.is_floating_point():
            out[key] = torch.stack([s[key].float() for s in states]).mean(dim=0).to(first.dtype)
        else:
            out[key] = first.clone()
    return out


def load_net(models_dir: Path) -> tuple[AttributeNet, int]:
    model = AttributeModel.load(models_dir)
    net = AttributeNet(frozen_blocks=0)
    net.load_state_dict(model.net.state_dict())
    return net.eval(), model.input_size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", type=Path, nargs="+", help="models folders (manifest.yaml + weights)")
    parser.add_argument("--utkface", type=Path, required=True)
    parser.add_argument("--fer2013", type=Path, required=True)
    parser.add_argument("--work-dir", type=Path, required=True, help="crop cache (as signage train's)")
    parser.add_argument("--out", type=Path, required=True, help="where the soup goes if it wins")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    torch.set_num_threads(args.threads)

    nets = [load_net(m) for m in args.models]
    sizes = {size for _, size in nets}
    if len(sizes) != 1:
        print(f"the models take different input sizes ({sorted(sizes)}); a soup needs one", file=sys.stderr)
        return 2
    size = sizes.pop()
    cfg = TrainConfig(
        args.utkface, args.fer2013, args.work_dir, input_size=size, frozen_blocks=0, online_augment=True
    )
    data = prepare_data(cfg)
    scores = []
    for path, (net, _) in zip(args.models, nets, strict=True):
        metrics, _cal, g32 = evaluate_split(net, data)
        scores.append(selection_score(metrics))
        log.info("ingredient %s: %s, gender@32px %s, score %.2f", path, metrics, g32, scores[-1])
    soup = AttributeNet(frozen_blocks=0)
    soup.load_state_dict(average_state([net.state_dict() for net, _ in nets]))
    soup.eval()
    metrics, cal, g32 = evaluate_split(soup, data)
    score = selection_score(metrics)
    log.info("soup of %d: %s, gender@32px %s, score %.2f", len(nets), metrics, g32, score)
    best = max(scores)
    if score <= best:
        print(f"the soup scores {score:.2f}, not above the best ingredient's {best:.2f}: nothing exported")
        return 1
    result = TrainResult(
        cal, metrics, len(data.utk_train), len(data.utk_cal), len(data.fer_train), len(data.fer_cal), 0
    )
    command = "python -m classifier.attributes.soup " + shlex.join(sys.argv[1:] if argv is None else argv)
    commands = [*previous_commands(args.models[0]), command]
    export_candidate(soup, result, replace(cfg, init=args.models[0]), args.out, commands)
    entry = dict(read_manifest(args.out)["models"][ENTRY_NAME])
    training = dict(entry["training"])
    for key in ("lr", "head_lr", "augment_strength", "emotion_label_smoothing"):
        training.pop(key, None)  # the soup trained nothing; its ingredients' manifests say how they did
    training["recipe"] = "uniform model soup (classifier.attributes.soup) of " + ", ".join(
        map(str, args.models)
    )
    training["ingredient_scores"] = [round(s, 3) for s in scores]
    entry["training"] = training
    write_entry(args.out, ENTRY_NAME, entry)
    (args.out / "MODEL_CARD.md").write_text(render(entry), encoding="utf-8")
    print(f"the soup scores {score:.2f} (best ingredient {best:.2f}): wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
