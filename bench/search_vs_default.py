""""Choose for me, within N minutes" against the best single default run, on the same split.

Claim (issue 12, "Measured"): the search (training.search: successive halving over the CPU's architectures ×
learning rates, each later rung continuing from its parent's weights, as webapp/searches does with real runs)
reaches at least the test accuracy of the best default-recipe run of those architectures. The search here
calls training.fit in this process, with the planner's own decisions and budget rule; the webapp adds only
the database and the queue. The winner is picked on validation accuracy, and both are scored on the test split.

Run: .venv/bin/python bench/search_vs_default.py [--minutes 5] [--per-class 60] [--max-steps 300]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere
from default_vs_tuned import DATASETS, MIRROR, default_run  # noqa: E402
from engine_harness import print_header, save_json  # noqa: E402

from classifier.presets import EvalPreset  # noqa: E402
from classifier.weights import ModelCard, save_model  # noqa: E402
from training import TrainConfig, build_cache, cache_size_for, evaluate, fit, recipe_for_source  # noqa: E402
from training import search as planner  # noqa: E402


def search(source, data, minutes: float, work: Path, *, mirror: bool, device: str = "cpu") -> dict:
    """Run the search within `minutes`; return the winner's validation and test accuracy, and its path."""
    deadline = time.monotonic() + minutes * 60
    recipes = {arch: recipe_for_source(source, arch)
               for arch in planner.architectures(has_cuda=device == "cuda", median_size=None)}
    max_epochs = max(r.settings["epochs"] for r in recipes.values())
    epochs0 = planner.rung0_epochs(max(r.steps_per_epoch for r in recipes.values()), max_epochs=max_epochs)
    members, models, key = [], {}, 0

    def train(candidate, epochs, total, rung, parent=None):
        nonlocal key
        key += 1
        settings = {**recipes[candidate.arch].settings, "lr": candidate.lr, "epochs": epochs, "device": device,
                    "warmup_epochs": 0.0 if parent else round(0.25 * epochs, 3) if epochs > 1 else 0.0,
                    "mirror": mirror, "rotate": mirror}
        if parent is not None:
            settings["pretrained"] = str(models[parent.key][1])
        config = TrainConfig.from_dict(settings)
        started = time.monotonic()
        result = fit(config, data, out_dir=work / f"m{key}")
        seconds = time.monotonic() - started
        epoch_s = sum(h.seconds for h in result.history) / max(1, len(result.history))
        scored = [h for h in result.history if h.val_accuracy is not None]
        val = max((h.val_accuracy for h in scored), default=None)
        loss = min((h.val_loss for h in scored if h.val_accuracy == val and h.val_loss is not None), default=None)
        path = work / f"m{key}.safetensors"
        card = ModelCard(arch=config.arch, num_classes=len(data.class_names), class_names=list(data.class_names),
                         image_size=config.image_size, preset=EvalPreset(size=config.image_size).to_dict(),
                         spec=None)
        save_model(path, result.model, card)
        models[key] = (result, path)
        member = planner.MemberResult(key, candidate, rung, total, val, seconds_per_epoch=epoch_s,
                                      overhead_s=max(0.0, seconds - epoch_s * len(result.history)), val_loss=loss)
        members.append(member)
        print(f"    rung {rung} {candidate.arch} lr {candidate.lr:g}: {total} epochs, val {val:.1%}, "
              f"{seconds:.0f} s", flush=True)
        return member

    rung = []
    for candidate in planner.candidates({a: r.settings["lr"] for a, r in recipes.items()}):
        if rung and time.monotonic() >= deadline:  # as the webapp does: out of time, waiting members are cancelled
            break
        rung.append(train(candidate, epochs0, epochs0, 0))
    while True:
        step = planner.next_rung(rung, remaining_s=deadline - time.monotonic(), max_epochs=max_epochs)
        if step is None:
            break
        rung = [train(p.candidate, step.extra_epochs, p.epochs + step.extra_epochs, step.rung, p)
                for p in step.parents]
    best = planner.winner(members)
    result = models[best.key][0]
    report = evaluate(result.model, data.split("test"), class_names=data.class_names, preset=result.eval_preset)
    return {"val": best.val_accuracy, "test": report["top1"], "arch": best.candidate.arch, "lr": best.candidate.lr,
            "epochs": best.epochs, "members": len(members), "seconds": minutes * 60 - (deadline - time.monotonic())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--datasets", default="digits,textures,faces", help="some of digits, textures, faces")
    parser.add_argument("--per-class", type=int, default=60)
    parser.add_argument("--max-steps", type=int, default=300, help="cap on each default run's recipe steps")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (a GPU's search tries the GPU's architectures)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    if set(args.datasets.split(",")) - set(DATASETS):
        parser.error(f"--datasets takes some of {', '.join(DATASETS)}")
    print_header("the search within N minutes >= the best single default run", vars(args))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in args.datasets.split(","):
            source, mirror = DATASETS[name](args.per_class), MIRROR[name]
            config = TrainConfig.from_dict({**recipe_for_source(source, "custom").settings, "device": args.device})
            data = build_cache(source, cache_size=cache_size_for(config), cache_dir=work / "cache")
            defaults = {}
            for arch in planner.architectures(has_cuda=args.device == "cuda", median_size=None):
                accuracy, steps, seconds = default_run(arch, source, data, args.max_steps, work, mirror=mirror,
                                                       device=args.device)
                defaults[arch] = accuracy
                print(f"{name} · default {arch}: test {accuracy:.1%} ({steps} steps, {seconds:.0f} s)", flush=True)
            print(f"{name} · search within {args.minutes:g} min:", flush=True)
            found = search(source, data, args.minutes, work / name, mirror=mirror, device=args.device)
            best_default = max(defaults.values())
            rows.append({"dataset": name, "best_default": best_default, "defaults": defaults, **found,
                         "ratio": found["test"] / best_default if best_default else float("inf")})
            print(f"{name} · search winner {found['arch']} lr {found['lr']:g}: test {found['test']:.1%} "
                  f"(best default {best_default:.1%}), {found['members']} members", flush=True)
    print(f"\n{'dataset':<10} {'best default':>12} {'search':>8} {'ratio':>6}  winner")
    for r in rows:
        print(f"{r['dataset']:<10} {r['best_default']:>12.1%} {r['test']:>8.1%} {r['ratio']:>6.2f}  {r['arch']} "
              f"lr {r['lr']:g}, {r['epochs']} epochs, {r['members']} members, {r['seconds']:.0f} s")
    passed = all(r["test"] >= r["best_default"] for r in rows)
    print(f"\nclaim (search >= best single default): {'PASS' if passed else 'FAIL'}")
    save_json(args.json, {"rows": rows, "passed": passed, "args": vars(args)})


if __name__ == "__main__":
    main()
