"""The commands that read trained runs and data: sample, reconstruct, evaluate, classifier, diagnose,
report and list."""
from __future__ import annotations

import argparse

from mspgsen.config import TrainConfig
from mspgsen.report.lines import coverage_line, defaults_line
from mspgsen.shell.command import Command

INCEPTION_WEIGHTS = "weights-inception-2015-12-05-6726825d.pth"


def sample_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, help="run folder")
    parser.add_argument("--n", type=int, default=64, help="number of samples")
    parser.add_argument("--out", required=True, help="output .png (grid or scatter plot) or .npz")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--interpolate", action="store_true",
                        help="a .png grid of --n rows, each walking the latent space between two points")


def sample(args: argparse.Namespace) -> int:
    from mspgsen import api

    if args.interpolate:
        path = api.interpolation_grid(args.run, args.n, args.out, seed=args.seed, device=args.device)
        print(f"wrote {args.n} interpolation rows to {path}")
        return 0
    path = api.sample(args.run, args.n, args.out, seed=args.seed, device=args.device)
    print(f"wrote {args.n} samples to {path}")
    return 0


def reconstruct_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, help="a vaegan run folder")
    parser.add_argument("--images", required=True, help="a folder of images, an .npz or a data set name")
    parser.add_argument("--n", type=int, default=32, help="images to reconstruct")
    parser.add_argument("--out", default="reconstructions.png", help="originals over reconstructions, .png")
    parser.add_argument("--data-root", help="where a named data set lives")
    parser.add_argument("--device", default="cpu")


def reconstruct(args: argparse.Namespace) -> int:
    from mspgsen import api

    result = api.reconstruct(args.run, args.images, args.out, n=args.n, data_root=args.data_root, device=args.device)
    print(f"reconstruction MSE {result['mse']:.4f} over {result['images']} images "
          f"(mean-image baseline {result['mean_image_mse']:.4f}); wrote {result['out']}")
    return 0


def evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", help="run folder")
    parser.add_argument("--samples", help="an .npz of images made elsewhere (instead of --run)")
    parser.add_argument("--n", type=int, default=None,
                        help="samples to draw (points: the run's eval_samples; images 10000; Stacked MNIST 26000)")
    parser.add_argument("--metrics", help="image metrics, comma-separated: fid,is,kid,prc,modes")
    parser.add_argument("--ref", default="train", help="reference images: train, test, or a folder / .npz")
    parser.add_argument("--features", default="inception", choices=["inception", "classifier"],
                        help="Inception-v3 (published-FID features) or a classifier mspgsen trained on the data")
    parser.add_argument("--data", help="with --samples: the data set --ref train|test refers to")
    parser.add_argument("--data-root", help="with --samples: where that data set lives")
    parser.add_argument("--inception-weights", help=f"path of {INCEPTION_WEIGHTS}")
    parser.add_argument("--classifier", help="classifier file (default: the one `mspgsen classifier train` saved)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")


def evaluate(args: argparse.Namespace) -> int:
    from mspgsen import api

    metrics = api.evaluate(args.run, samples=args.samples, num_samples=args.n, metrics=args.metrics, ref=args.ref,
                           features=args.features, data=args.data, data_root=args.data_root,
                           inception_weights=args.inception_weights, classifier=args.classifier, seed=args.seed,
                           device=args.device)
    if "modes_covered" in metrics:
        print(coverage_line(metrics))
        return 0
    print("| metric | value |\n| --- | --- |")
    for name, value in metrics.items():
        print(f"| {name} | {value:.4g} |" if isinstance(value, float) else f"| {name} | {value} |")
    return 0


def classifier_train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="a labelled image data set, folder or .npz")
    parser.add_argument("--data-root")
    parser.add_argument("--image-size")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--out", help="file to save (default: the cache, where evaluate finds it)")
    parser.add_argument("--device", default="auto")


def classifier_train(args: argparse.Namespace) -> int:
    from mspgsen import api

    path = api.train_classifier(args.data, data_root=args.data_root, epochs=args.epochs, out=args.out,
                                device=args.device, image_size=args.image_size)
    print(f"saved {path}")
    return 0


def diagnose_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, help="run folder (needs its checkpoint: the detector uses D)")
    parser.add_argument("--n", type=int, help="real samples to score (default 10000)")
    parser.add_argument("--delta", type=float, help="missed when D's probability > 1/(1+delta) (default 0.2, "
                        "DynGAN's)")
    parser.add_argument("--device", default="cpu")


def diagnose(args: argparse.Namespace) -> int:
    from mspgsen import api

    delta = {} if args.delta is None else {"delta": args.delta}  # diagnose's default is DynGAN's δ
    report = api.diagnose(args.run, num_samples=args.n, device=args.device, **delta)
    print(f"{100 * report['missed_share']:.1f}% of {report['samples']} real samples are missed "
          f"(D's probability > {report['threshold']:.3f})")
    if "missed_modes" in report:
        print(f"missed modes: {len(report['missed_modes'])}/{report['num_modes']} {report['missed_modes']}")
    for key, label in (("note", "note"), ("figure", "figure")):
        if report.get(key):
            print(f"{label}: {report[key]}")
    return 0


def report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", metavar="RUN", help="run folders (runs that differ only in their seed "
                        "are averaged in the comparison table)")
    parser.add_argument("--out", default="report.html", help="the page to write (default report.html)")
    parser.add_argument("--title")


def report(args: argparse.Namespace) -> int:
    from mspgsen import api

    print(f"wrote {api.report(args.runs, out=args.out, title=args.title)}")
    return 0


def listing(args: argparse.Namespace) -> int:
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


INSPECTION = [
    Command("sample", "draw samples from a trained run", sample_arguments, sample),
    Command("reconstruct", "encode and decode images with a vaegan run", reconstruct_arguments, reconstruct),
    Command("evaluate", "measure a trained run or a file of samples", evaluate_arguments, evaluate),
    Command("classifier", "train the classifier used by --features classifier", subcommands=[
        Command("train", "train and save a classifier for a data set", classifier_train_arguments, classifier_train)]),
    Command("diagnose", "find the real samples a trained generator misses (DynGAN's detector)", diagnose_arguments,
            diagnose),
    Command("report", "one self-contained HTML page for a run, or a comparison of runs", report_arguments, report),
    Command("list", "show models, data sets and their defaults", run=listing),
]
