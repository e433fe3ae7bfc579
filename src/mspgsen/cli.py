"""The `mspgsen` command: parses arguments, calls the API, prints. Bad input exits with code 2."""
from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from mspgsen import __version__
from mspgsen.config import DataConfig, TrainConfig
from mspgsen.errors import UserError
from mspgsen.report.lines import coverage_line, defaults_line, metrics_line


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except UserError as err:
        print(f"mspgsen: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and closed early: not an error
        sys.stdout = open(os.devnull, "w")
        return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mspgsen", description="Train, sample and evaluate GANs.")
    parser.add_argument("--version", action="version", version=f"mspgsen {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a model (or resume a run)")
    train_defaults, data_defaults = TrainConfig(), DataConfig()
    train.add_argument("--model", help="model family (see `mspgsen list`); default dcgan")
    train.add_argument("--data", help=f"data set name, folder of images or .npz file; default {data_defaults.name}")
    train.add_argument("--config", help="YAML file with model/data/train sections")
    train.add_argument("--steps", help=f"generator updates; default {train_defaults.steps}")
    train.add_argument("--batch-size", help=f"samples per batch; default {train_defaults.batch_size}")
    train.add_argument("--image-size", help="S or HxW; images are resized/cropped to it; default: their own size")
    train.add_argument("--out", help="run folder (default runs/NNNNN-<model>-<data>)")
    train.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    train.add_argument("--init-from", metavar="RUN", help="start a new run from RUN's network weights (same family "
                       "and model settings; fresh optimisers, step 0)")
    train.add_argument("--device", help=f"auto | cpu | cuda | cuda:N; default {train_defaults.device}")
    train.add_argument("--precision", help="auto | fp32 | bf16; default auto: bf16 for image networks on a GPU or an "
                                           "AMX CPU, fp32 elsewhere")
    train.add_argument("--threads", help="CPU threads; default: OMP_NUM_THREADS, else 1 for small networks and the "
                                         "free cores for large ones")
    train.add_argument("--compile", help="torch.compile: auto (on CUDA only) | off | default | reduce-overhead | "
                                         "max-autotune; default auto")
    train.add_argument("--seed", help=f"random seed; default {train_defaults.seed}")
    train.add_argument("--data-root", help="folder holding named data sets (default $MSPGSEN_DATA or ./data)")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="any config key, e.g. --set model.optim_d.lr=1e-4 (repeatable)")
    train.add_argument("--balancer-from", metavar="RUN",
                       help="start the balance controller from the DQN agent (weights, replay) of another run")
    train.add_argument("--dry-run", action="store_true", help="print the resolved config and stop")
    train.set_defaults(handler=_train)

    ablate = commands.add_parser("ablate", help="train the full model and each one-off variant, tabulate")
    ablate.add_argument("--model", default="mspgsen")
    ablate.add_argument("--data", default="grid25")
    ablate.add_argument("--seeds", type=int, default=3)
    ablate.add_argument("--components", help="comma-separated model flags and controllers "
                                             "(default for mspgsen: dema,gctdrn,afe,apfl,balance)")
    _add_experiment_options(ablate, "ablation")
    ablate.set_defaults(handler=_ablate)

    sweep = commands.add_parser("sweep", help="vary one setting at a time over a list of values, tabulate and plot")
    sweep.add_argument("--vary", action="append", required=True, metavar="KEY=V1,V2,...",
                       help="a config key and its values, e.g. model.latent_dim=64,128 (repeatable)")
    sweep.add_argument("--model", default="vaegan")
    sweep.add_argument("--data", default="mnist")
    sweep.add_argument("--seeds", type=int, default=1)
    _add_experiment_options(sweep, "sweep")
    sweep.set_defaults(handler=_sweep)

    sample = commands.add_parser("sample", help="draw samples from a trained run")
    sample.add_argument("--run", required=True, help="run folder")
    sample.add_argument("--n", type=int, default=64, help="number of samples")
    sample.add_argument("--out", required=True, help="output .png (grid or scatter plot) or .npz")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--device", default="cpu")
    sample.add_argument("--interpolate", action="store_true",
                        help="a .png grid of --n rows, each walking the latent space between two points")
    sample.set_defaults(handler=_sample)

    rebuild = commands.add_parser("reconstruct", help="encode and decode images with a vaegan run")
    rebuild.add_argument("--run", required=True, help="a vaegan run folder")
    rebuild.add_argument("--images", required=True, help="a folder of images, an .npz or a data set name")
    rebuild.add_argument("--n", type=int, default=32, help="images to reconstruct")
    rebuild.add_argument("--out", default="reconstructions.png", help="originals over reconstructions, .png")
    rebuild.add_argument("--data-root", help="where a named data set lives")
    rebuild.add_argument("--device", default="cpu")
    rebuild.set_defaults(handler=_reconstruct)

    evaluate = commands.add_parser("evaluate", help="measure a trained run or a file of samples")
    evaluate.add_argument("--run", help="run folder")
    evaluate.add_argument("--samples", help="an .npz of images made elsewhere (instead of --run)")
    evaluate.add_argument("--n", type=int, default=None,
                          help="samples to draw (points: the run's eval_samples; images 10000; Stacked MNIST 26000)")
    evaluate.add_argument("--metrics", help="image metrics, comma-separated: fid,is,kid,prc,modes")
    evaluate.add_argument("--ref", default="train", help="reference images: train, test, or a folder / .npz")
    evaluate.add_argument("--features", default="inception", choices=["inception", "classifier"],
                          help="Inception-v3 (published-FID features) or a classifier mspgsen trained on the data")
    evaluate.add_argument("--data", help="with --samples: the data set --ref train|test refers to")
    evaluate.add_argument("--data-root", help="with --samples: where that data set lives")
    evaluate.add_argument("--inception-weights", help=f"path of {'weights-inception-2015-12-05-6726825d.pth'}")
    evaluate.add_argument("--classifier", help="classifier file (default: the one `mspgsen classifier train` saved)")
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--device", default="auto")
    evaluate.set_defaults(handler=_evaluate)

    classifier = commands.add_parser("classifier", help="train the classifier used by --features classifier")
    classifier_commands = classifier.add_subparsers(dest="classifier_command", required=True)
    classifier_train = classifier_commands.add_parser("train", help="train and save a classifier for a data set")
    classifier_train.add_argument("--data", required=True, help="a labelled image data set, folder or .npz")
    classifier_train.add_argument("--data-root")
    classifier_train.add_argument("--image-size")
    classifier_train.add_argument("--epochs", type=int, default=3)
    classifier_train.add_argument("--out", help="file to save (default: the cache, where evaluate finds it)")
    classifier_train.add_argument("--device", default="auto")
    classifier_train.set_defaults(handler=_train_classifier)

    diagnose = commands.add_parser("diagnose", help="find the real samples a trained generator misses (DynGAN's detector)")
    diagnose.add_argument("--run", required=True, help="run folder (needs its checkpoint: the detector uses D)")
    diagnose.add_argument("--n", type=int, help="real samples to score (default 10000)")
    diagnose.add_argument("--delta", type=float, help="missed when D's probability > 1/(1+delta) (default 0.2, "
                          "DynGAN's)")
    diagnose.add_argument("--device", default="cpu")
    diagnose.set_defaults(handler=_diagnose)

    repair = commands.add_parser("repair", help="continue a run as one conditioned on the partitions its "
                                                "generator misses (a new run folder)")
    repair.add_argument("--run", required=True, help="the run to repair, with its checkpoint: of any family but "
                        "dyngan and the repaired ones, which partition themselves already")
    repair.add_argument("--steps", type=int, help="steps of the repaired run (default: the base run's)")
    repair.add_argument("--time-limit", type=float, help="seconds of training (default: the base run's)")
    repair.add_argument("--out", help="folder of the repaired run (default: the next numbered one)")
    repair.add_argument("--data-root")
    repair.add_argument("--device")
    repair.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config for the repaired run")
    repair.set_defaults(handler=_repair)

    page = commands.add_parser("report", help="one self-contained HTML page for a run, or a comparison of runs")
    page.add_argument("runs", nargs="+", metavar="RUN", help="run folders (runs that differ only in their seed "
                      "are averaged in the comparison table)")
    page.add_argument("--out", default="report.html", help="the page to write (default report.html)")
    page.add_argument("--title")
    page.set_defaults(handler=_report)

    listing = commands.add_parser("list", help="show models, data sets and their defaults")
    listing.set_defaults(handler=_list)
    return parser


def _add_experiment_options(parser: argparse.ArgumentParser, kind: str) -> None:
    """Options shared by the commands that train and compare many runs."""
    parser.add_argument("--steps", help="generator updates per run (default: the model's)")
    parser.add_argument("--batch-size")
    parser.add_argument("--out", default=f"runs/{kind}", help=f"folder for the runs, {kind}.md and {kind}.png")
    parser.add_argument("--workers", type=int, default=1, help="runs trained in parallel (CPU)")
    parser.add_argument("--data-root")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--metrics", help="image data: metrics to compare (as for evaluate)")
    parser.add_argument("--features", default="inception", choices=["inception", "classifier"])
    parser.add_argument("--n", type=int, help="image data: samples per evaluation")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config for every run")


def _train(args: argparse.Namespace) -> int:
    _check_before_importing_torch(args)
    from mspgsen import api

    config = api.configure(
        config_file=args.config, overrides=args.set, base_run=args.out if args.resume else None,
        model=args.model, data=args.data, steps=args.steps, batch_size=args.batch_size, image_size=args.image_size,
        out=args.out, device=args.device, precision=args.precision, seed=args.seed, data_root=args.data_root,
        balancer_from=args.balancer_from, init_from=args.init_from, compile=args.compile, threads=args.threads)
    if args.dry_run:
        import yaml

        print(yaml.safe_dump(config.to_dict(), sort_keys=False), end="")
        return 0
    result = api.train(config, resume=args.resume)
    if _print_outcome(result, f"run folder: {result.run_dir}") and config.train.report:
        print(f"report: {result.run_dir / 'report.html'} (open it in a browser)")
    return 0


def _print_outcome(result, headline: str) -> bool:
    """How a training run ended: where to resume a stopped one, or `headline` and the final
    metrics of a finished one. True when it finished."""
    if not result.completed:
        print(f"stopped at step {result.step}; continue with: mspgsen train --resume --out {result.run_dir}")
        return False
    print(headline)
    if result.metrics:
        print(metrics_line(result.metrics))
    return True


def _check_before_importing_torch(args: argparse.Namespace) -> None:
    """Report a wrong key or value in the data and train sections before the seconds (on a busy
    machine, tens of seconds) that importing torch takes; the model section is checked after."""
    from mspgsen import config as settings

    sources = [settings.load_yaml(args.config)] if args.config else []
    flags = {"data.name": args.data, "data.root": args.data_root, "data.image_size": args.image_size,
             "train.steps": args.steps, "train.batch_size": args.batch_size, "train.seed": args.seed,
             "train.device": args.device, "train.precision": args.precision, "train.compile": args.compile,
             "train.threads": args.threads}
    overrides = [f"{key}={value}" for key, value in flags.items() if value is not None]
    settings.check_shared_sections(sources, [*overrides, *args.set])


def _ablate(args: argparse.Namespace) -> int:
    from mspgsen.commands import experiments

    components = args.components.split(",") if args.components else None
    result = experiments.ablate(model=args.model, data=args.data, seeds=args.seeds, components=components,
                                steps=args.steps, batch_size=args.batch_size, out=args.out, workers=args.workers,
                                overrides=args.set, data_root=args.data_root, device=args.device,
                                metrics=args.metrics, features=args.features, num_samples=args.n)
    print(result.table)
    print(f"\nwrote {result.table_path} and {result.plot_path}")
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from mspgsen.commands import experiments

    result = experiments.sweep(args.vary, model=args.model, data=args.data, seeds=args.seeds, steps=args.steps,
                               batch_size=args.batch_size, out=args.out, workers=args.workers, overrides=args.set,
                               data_root=args.data_root, device=args.device, metrics=args.metrics,
                               features=args.features, num_samples=args.n)
    print(result.table)
    print(f"\nwrote {result.table_path} and {result.plot_path}")
    return 0


def _diagnose(args: argparse.Namespace) -> int:
    from mspgsen import api

    delta = {} if args.delta is None else {"delta": args.delta}  # diagnose's default is DynGAN's δ
    report = api.diagnose(args.run, num_samples=args.n, device=args.device, **delta)
    print(f"{100 * report['missed_share']:.1f}% of {report['samples']} real samples are missed "
          f"(D's probability > {report['threshold']:.3f})")
    if "missed_modes" in report:
        print(f"missed modes: {len(report['missed_modes'])}/{report['num_modes']} {report['missed_modes']}")
    if "note" in report:
        print(f"note: {report['note']}")
    if report["figure"]:
        print(f"figure: {report['figure']}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from mspgsen import api

    print(f"wrote {api.report(args.runs, out=args.out, title=args.title)}")
    return 0


def _repair(args: argparse.Namespace) -> int:
    from mspgsen import api

    result = api.repair(args.run, steps=args.steps, time_limit=args.time_limit, out=args.out,
                        data_root=args.data_root, device=args.device, overrides=args.set)
    _print_outcome(result, f"repaired run: {result.run_dir} (from {args.run})")
    return 0


def _reconstruct(args: argparse.Namespace) -> int:
    from mspgsen import api

    result = api.reconstruct(args.run, args.images, args.out, n=args.n, data_root=args.data_root, device=args.device)
    print(f"reconstruction MSE {result['mse']:.4f} over {result['images']} images "
          f"(mean-image baseline {result['mean_image_mse']:.4f}); wrote {result['out']}")
    return 0


def _sample(args: argparse.Namespace) -> int:
    from mspgsen import api

    if args.interpolate:
        path = api.interpolation_grid(args.run, args.n, args.out, seed=args.seed, device=args.device)
        print(f"wrote {args.n} interpolation rows to {path}")
        return 0
    path = api.sample(args.run, args.n, args.out, seed=args.seed, device=args.device)
    print(f"wrote {args.n} samples to {path}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from mspgsen import api

    metrics = api.evaluate(args.run, samples=args.samples, num_samples=args.n, metrics=args.metrics, ref=args.ref,
                           features=args.features, data=args.data, data_root=args.data_root, inception_weights=args.inception_weights,
                           classifier=args.classifier, seed=args.seed, device=args.device)
    if "modes_covered" in metrics:
        print(coverage_line(metrics))
        return 0
    print("| metric | value |\n| --- | --- |")
    for name, value in metrics.items():
        print(f"| {name} | {value:.4g} |" if isinstance(value, float) else f"| {name} | {value} |")
    return 0


def _train_classifier(args: argparse.Namespace) -> int:
    from mspgsen import api

    path = api.train_classifier(args.data, data_root=args.data_root, epochs=args.epochs, out=args.out,
                                device=args.device, image_size=args.image_size)
    print(f"saved {path}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from mspgsen import api

    print("models:")
    for model in api.models():
        aliases = f" (alias {', '.join(model['aliases'])})" if model["aliases"] else ""
        print(f"  {model['name']}{aliases}: {model['summary']}")
        print(f"      {defaults_line(model['defaults'])}")
    train = TrainConfig()
    print(f"training defaults (every model): steps {train.steps}, batch {train.batch_size}, precision "
          f"{train.precision}, threads auto, log every {train.log_every} steps, samples every {train.sample_every}, "
          f"checkpoint every {train.checkpoint_every}, EMA of G as the model says; override with --set train.KEY=VALUE")
    print("data sets (or give a folder of images / an .npz file):")
    for dataset in api.datasets():
        print(f"  {dataset['name']}: {dataset['description']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
