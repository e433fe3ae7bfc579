"""The commands that train: `train`, `ablate`, `sweep` and `repair`."""
from __future__ import annotations

import argparse

from mspgsen.report.lines import metrics_line
from mspgsen.shell.command import (Command, add_config_flags, add_protocol_options, config_flag_values,
                                   protocol_options)


def train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="YAML file with model/data/train sections")
    add_config_flags(parser)
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="any config key, e.g. --set model.optim_d.lr=1e-4 (repeatable)")
    parser.add_argument("--dry-run", action="store_true", help="print the resolved config and stop")


def train(args: argparse.Namespace) -> int:
    from mspgsen import config as settings
    from mspgsen.config.flags import as_sources

    flags = config_flag_values(args)
    # a wrong key or value in data and train is reported before importing torch (tens of seconds on a busy machine)
    settings.check_shared_sections([*([settings.load_yaml(args.config)] if args.config else []), as_sources(flags)],
                                   args.set)
    from mspgsen import api

    config = api.configure(config_file=args.config, overrides=args.set, base_run=args.out if args.resume else None,
                           **flags)
    if args.dry_run:
        import yaml

        print(yaml.safe_dump(config.to_dict(), sort_keys=False), end="")
        return 0
    result = api.train(config, resume=args.resume)
    if print_outcome(result, f"run folder: {result.run_dir}") and config.train.report:
        print(f"report: {result.run_dir / 'report.html'} (open it in a browser)")
    return 0


def print_outcome(result, headline: str) -> bool:
    """How a training run ended: where to resume a stopped one, or `headline` and the final
    metrics of a finished one. True when it finished."""
    if not result.completed:
        print(f"stopped at step {result.step}; continue with: mspgsen train --resume --out {result.run_dir}")
        return False
    print(headline)
    if result.metrics:
        print(metrics_line(result.metrics))
    return True


def ablate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--components", help="comma-separated model flags and controllers "
                                             "(default for mspgsen: dema,gctdrn,afe,apfl,balance)")
    add_protocol_options(parser, model="mspgsen", data="grid25", seeds=3, out="runs/ablation")


def ablate(args: argparse.Namespace) -> int:
    from mspgsen import api

    components = args.components.split(",") if args.components else None
    return print_experiment(api.ablate(components=components, **protocol_options(args)))


def sweep_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--vary", action="append", required=True, metavar="KEY=V1,V2,...",
                        help="a config key and its values, e.g. model.latent_dim=64,128 (repeatable)")
    add_protocol_options(parser, model="vaegan", data="mnist", seeds=1, out="runs/sweep")


def sweep(args: argparse.Namespace) -> int:
    from mspgsen import api

    return print_experiment(api.sweep(args.vary, **protocol_options(args)))


def print_experiment(result) -> int:
    print(result.table)
    print(f"\nwrote {result.table_path} and {result.plot_path}")
    return 0


def repair_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, help="the run to repair, with its checkpoint: of any family but "
                        "dyngan and the repaired ones, which partition themselves already")
    parser.add_argument("--steps", type=int, help="steps of the repaired run (default: the base run's)")
    parser.add_argument("--time-limit", type=float, help="seconds of training (default: the base run's)")
    parser.add_argument("--out", help="folder of the repaired run (default: the next numbered one)")
    parser.add_argument("--data-root", help="where the base run's named data set lives, if it moved")
    parser.add_argument("--device", help="auto | cpu | cuda | cuda:N (default: the base run's)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config for the repaired run")


def repair(args: argparse.Namespace) -> int:
    from mspgsen import api

    result = api.repair(args.run, steps=args.steps, time_limit=args.time_limit, out=args.out,
                        data_root=args.data_root, device=args.device, overrides=args.set)
    print_outcome(result, f"repaired run: {result.run_dir} (from {args.run})")
    return 0


TRAINING = [
    Command("train", "train a model (or resume a run)", train_arguments, train),
    Command("ablate", "train the full model and each one-off variant, tabulate", ablate_arguments, ablate),
    Command("sweep", "vary one setting at a time over a list of values, tabulate and plot", sweep_arguments, sweep),
    Command("repair", "continue a run as one conditioned on the partitions its generator misses (a new run folder)",
            repair_arguments, repair),
]
