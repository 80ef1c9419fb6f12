"""python -m training: train a model on an image folder, with no web app.

Writes OUT/model.safetensors, OUT/metrics.json (on the test split), OUT/predictions.json and
checkpoints under OUT/checkpoints/. Every TrainConfig field is an option; those not given take
the recipe that fits the folder (training.recipes: epochs from the number of training images, batch
size, learning rate, image size from the images' median size) over the architecture's defaults.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import sys
import typing
from pathlib import Path

from training import distributed
from training.callbacks import Callback, EpochStats, Progress
from training.config import ConfigError, TrainConfig, defaults_for

EXIT_USAGE = 2
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A bad argument: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> typing.NoReturn:
        raise UsageError(message)


def _parse_spec(text: str) -> list:
    """Read a layer spec from JSON text or from @file.json."""
    raw = Path(text[1:]).read_text() if text.startswith("@") else text
    try:
        spec = json.loads(raw)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON ({exc})")
    if not isinstance(spec, list):
        raise argparse.ArgumentTypeError("must be a JSON list of layers")
    return spec


def _parse_pretrained(text: str) -> str | None:
    return None if text.lower() in ("", "none") else text


_SPECIAL_TYPES = {"spec": _parse_spec, "pretrained": _parse_pretrained}
_HELP = {
    "arch": "architecture name, e.g. resnet18_small, vgg11_bn_small, vit_tiny, custom, resnet50",
    "image_size": "training resolution in px (default: the architecture's)",
    "optimizer": "sgd or adamw",
    "momentum": "SGD momentum (AdamW: beta1)",
    "scheduler": "cosine, step, onecycle or none (all with optional warm-up)",
    "augment": "none, light, standard or strong",
    "mirror": "the images may be mirrored (natural photos; never text, digits, anything with a handedness)",
    "rotate": "the images may be turned by quarter turns (textures, microscopy, aerial photos: no up)",
    "mixed_precision": "auto (bf16 where the device has it), bf16 or off",
    "channels_last": "auto, on or off",
    "deterministic": "reproducible kernels (slower)",
    "patience": "epochs without a better validation result before stopping; 0: never",
    "monitor": "val_accuracy or val_loss: what picks the best epoch",
    "class_balance": "none, weights (loss weights) or sampler (balanced batches)",
    "finetune": "full, head (train only the head) or lower_lr (backbone at backbone-lr-scale)",
    "pretrained": "none, imagenet (from the local torch cache) or a .pth/.safetensors file",
    "spec": "layer spec for --arch custom: JSON text or @file.json",
    "grad_clip": "max gradient norm; 0: off",
    "device": "auto, cpu or cuda",
    "keep_last": "epoch checkpoints kept besides the best",
}
_PLAIN_TYPES = {int: int, float: float, str: str}


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser: run options plus one option per TrainConfig field."""
    parser = _Parser(prog="python -m training", description=__doc__.split("\n\n")[0])
    run = parser.add_argument_group("run")
    run.add_argument("--data", required=True, type=Path, help="image folder: class/x.png or train|val|test/class/x.png")
    run.add_argument("--out", required=True, type=Path, help="output folder")
    run.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in --out")
    run.add_argument("--cache-dir", type=Path, default=Path(os.environ.get("LUX_CACHE_DIR", "~/.cache/lux")),
                     help="where decoded images are cached and reused across runs (default: $LUX_CACHE_DIR "
                          "or ~/.cache/lux)")
    run.add_argument("--workers", type=int, default=2, help="threads decoding images into the cache (default: 2)")
    run.add_argument("--split", default="0.8,0.1,0.1",
                     help="train,val,test shares when DIR has no split folders (default: 0.8,0.1,0.1)")
    run.add_argument("--split-seed", type=int, default=0, help="seed of that split (default: 0)")
    run.add_argument("--quiet", action="store_true", help="no progress bar or per-epoch lines")
    config = parser.add_argument_group("training (defaults: the architecture's recipe)")
    hints = typing.get_type_hints(TrainConfig)
    for f in dataclasses.fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        if hints[f.name] is bool:
            config.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=_HELP.get(f.name))
        else:
            kind = _SPECIAL_TYPES.get(f.name) or _PLAIN_TYPES[typing.get_args(hints[f.name])[0]
                                                             if typing.get_args(hints[f.name]) else hints[f.name]]
            config.add_argument(flag, type=kind, default=None, metavar=f.name.upper(), help=_HELP.get(f.name))
    return parser


def given_settings(args: argparse.Namespace) -> dict:
    """Return the TrainConfig options given on the command line."""
    names = [f.name for f in dataclasses.fields(TrainConfig)]
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def config_from_args(args: argparse.Namespace, recipe: dict | None = None) -> TrainConfig:
    """Return the validated config: TrainConfig defaults < the architecture's < the recipe < given options."""
    given = given_settings(args)
    arch = given.get("arch", TrainConfig().arch)
    try:
        base = defaults_for(arch, pretrained=given.get("pretrained"))
    except KeyError as exc:
        raise ConfigError({"arch": str(exc)})
    if "image_size" in given:
        base.pop("image_size")
    return TrainConfig.from_dict({**base, **(recipe or {}), **given})


class ProgressBar(Callback):
    """Draw a progress bar on stderr and a line per finished epoch."""

    def __init__(self, *, enabled: bool):
        self.enabled, self.bar, self.phase = enabled, None, None

    def _bar(self, phase: str, total: int, desc: str):
        from tqdm import tqdm

        if self.bar is None or self.phase != phase or self.bar.total != total or self.bar.desc != desc:
            self.close()
            self.bar = tqdm(total=total, desc=desc, unit="img" if phase == "cache" else "step",
                            file=sys.stderr, dynamic_ncols=True, leave=False)
            self.phase = phase
        return self.bar

    def on_progress(self, p: Progress) -> None:
        if not self.enabled or p.phase in ("val", "done"):
            return
        if p.phase == "cache":
            bar, position = self._bar("cache", p.total, "decoding images"), p.done
        else:
            bar, position = self._bar("train", p.steps, f"epoch {p.epoch}/{p.epochs}"), p.step
            bar.set_postfix_str(f"loss {p.loss:.3f} acc {p.accuracy:.1%} lr {p.lr:.3g} "
                                f"{p.images_per_s:.0f} img/s eta {_duration(p.eta_s)}", refresh=False)
        bar.update(position - bar.n)

    def on_epoch_end(self, s: EpochStats) -> None:
        if not self.enabled:
            return
        self.close()
        val = f"val loss {s.val_loss:.4f} acc {s.val_accuracy:.2%}" if s.val_loss is not None else "no val split"
        print(f"epoch {s.epoch}: train loss {s.train_loss:.4f} acc {s.train_accuracy:.2%}, {val}, "
              f"{s.images_per_s:.0f} img/s, {s.seconds:.1f} s", file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}" if minutes >= 60 else f"{minutes}:{secs:02d}"


class InterruptStop(Callback):
    """Turn the first Ctrl-C into a clean stop (checkpoint kept); a second one aborts."""

    def __init__(self):
        self.requested = False
        if _in_main_thread():
            signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum, frame) -> None:
        self.requested = True
        signal.signal(signal.SIGINT, signal.default_int_handler)
        print("\nstopping after this step (Ctrl-C again to abort)...", file=sys.stderr)

    def should_stop(self) -> bool:
        return self.requested


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    try:
        args = build_parser().parse_args(argv)
        config = config_from_args(args)
        ratios = _ratios(args.split)
        if not args.data.is_dir():
            raise UsageError(f"--data {args.data}: no such folder")
    except UsageError as exc:
        return _fail(f"error: {exc}", EXIT_USAGE)
    except ConfigError as exc:
        return _fail(f"error: invalid settings: {exc}", EXIT_USAGE)
    from training.data import scan_image_folder
    from training.pipeline import train_folder
    from training.recipes import recipe_for_source

    ctx = distributed.init_from_env()
    bar = ProgressBar(enabled=not args.quiet and ctx.is_main)
    try:
        source = scan_image_folder(args.data, seed=args.split_seed, ratios=ratios)
        recipe = recipe_for_source(source, config.arch, pretrained=config.pretrained, spec=config.spec,
                                   given=given_settings(args))
        config = config_from_args(args, recipe.settings)
        if ctx.is_main and not args.quiet:
            print(f"recipe: {recipe.explanation}", file=sys.stderr)
        run = train_folder(args.data, args.out, config, cache_dir=args.cache_dir, workers=args.workers,
                           ratios=ratios, split_seed=args.split_seed, resume=args.resume,
                           callbacks=[bar, InterruptStop()])
    except ConfigError as exc:
        return _fail(f"error: invalid settings: {exc}", EXIT_USAGE)
    except (ValueError, OSError, RuntimeError) as exc:  # TrainingDiverged, unreadable data...: one line
        return _fail(f"error: {exc}", EXIT_FAILED)
    finally:
        bar.close()
        distributed.shutdown()
    if run.fit.stopped:
        print(f"stopped; checkpoint {run.fit.checkpoint_path}. Run again with --resume to continue.",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    if run.metrics is not None:
        m = run.metrics
        print(f"{m['split']} accuracy {m['test_accuracy']:.2%} (top-{m['topk']} {m['top5_accuracy']:.2%}) "
              f"on {m['num_samples']} images; best epoch {m['best_epoch']}; wrote {run.out_dir}/model.safetensors "
              f"and {run.out_dir}/metrics.json")
        for warning in m["warnings"]:
            print(f"warning: {warning}", file=sys.stderr)
        for h in m["health"]:
            fix = ", ".join(f"--{k.replace('_', '-')} {v}" for k, v in h["suggested"].items())
            print(f"warning: {h['message']} {h['cause']}" + (f" Try {fix}." if fix else ""), file=sys.stderr)
    return 0


def _ratios(text: str) -> tuple[float, float, float]:
    try:
        ratios = tuple(float(v) for v in text.split(","))
    except ValueError:
        ratios = ()
    if len(ratios) != 3 or min(ratios) < 0 or abs(sum(ratios) - 1) > 1e-6:
        raise UsageError(f"--split {text!r}: give three shares train,val,test that add up to 1, e.g. 0.8,0.1,0.1")
    return ratios


def _fail(message: str, status: int) -> int:
    print(" ".join(message.split()), file=sys.stderr)  # one line, whatever the message held
    return status
