"""Which trials a search's pruner stops, and what that costs.

    python -m bench.pruning [--seeds 0 1 2] [--trials 12]

For each seed, every trial of the app's quick search (random sampler) is run to its end, its validation
accuracy kept at each evaluation (twice an epoch). Each pruning rule is then replayed on those same curves,
in trial order, through Optuna's own pruner: a trial is pruned at the first evaluation the rule stops it at.
Printed per rule: how many trials it prunes, the share of the search's training time it saves (a pruned
trial's time counted up to where it stopped), and the best final accuracy among the trials it lets finish
against the best of all.
"""

import argparse
import tempfile
from dataclasses import replace

import optuna

from engine.config import TrainConfig
from engine.device import configure_cpu
from engine.search import Search, make_pruner
from gui.search_panel import QUICK

EVALS_PER_EPOCH = 2
RULES = {
    "median (the rule until 2026-12-06)": lambda: optuna.pruners.MedianPruner(3, EVALS_PER_EPOCH),
    "behind 3 in 4 finished": lambda: optuna.pruners.PercentilePruner(75.0, 3, EVALS_PER_EPOCH),
    "behind 9 in 10 finished (the app's)": lambda: make_pruner(EVALS_PER_EPOCH),
}


def unpruned_curves(seed: int, trials: int, folder: str) -> list[tuple[list[float], float]]:
    """Every trial's validation accuracy at each evaluation, and its seconds."""
    base = replace(TrainConfig(), **QUICK).validate()
    search = Search(base, trials, "random", f"sqlite:///{folder}/study.db", study=f"seed{seed}", seed=seed,
                    evals_per_epoch=EVALS_PER_EPOCH)
    search.study.pruner = optuna.pruners.NopPruner()
    results = search.run()
    return [([trial.intermediate_values[step] for step in sorted(trial.intermediate_values)], result.seconds)
            for trial, result in zip(search.study.trials, results)]


def replay(rule, curves: list[tuple[list[float], float]]) -> tuple[int, float, float]:
    """(trials pruned, seconds spent, best final accuracy of the trials let finish) under the rule."""
    study = optuna.create_study(direction="maximize", pruner=rule())
    pruned, seconds, finals = 0, 0.0, []
    for curve, trial_seconds in curves:
        trial = study.ask()
        for step, accuracy in enumerate(curve, start=1):
            trial.report(accuracy, step)
            if trial.should_prune():
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                pruned += 1
                seconds += trial_seconds * step / len(curve)
                break
        else:
            study.tell(trial, curve[-1])
            seconds += trial_seconds
            finals.append(curve[-1])
    return pruned, seconds, max(finals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--trials", type=int, default=12)
    args = parser.parse_args()
    configure_cpu()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    totals = {name: [0, 0.0, 0] for name in RULES}  # pruned, seconds, seeds whose best trial it kept
    all_seconds = 0.0
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as folder:
            curves = unpruned_curves(seed, args.trials, folder)
        best = max(curve[-1] for curve, _ in curves)
        all_seconds += sum(s for _, s in curves)
        print(f"seed {seed}: {len(curves)} trials, {sum(s for _, s in curves):.0f} s unpruned, best {best:.2%}")
        for name, rule in RULES.items():
            pruned, seconds, kept_best = replay(rule, curves)
            totals[name][0] += pruned
            totals[name][1] += seconds
            totals[name][2] += kept_best == best
            print(f"  {name}: {pruned} pruned, {seconds:.0f} s, best finished {kept_best:.2%}")
    print(f"\nover {len(args.seeds)} seeds ({len(args.seeds) * args.trials} trials):")
    for name, (pruned, seconds, kept) in totals.items():
        print(f"  {name}: {pruned} pruned, saves {1 - seconds / all_seconds:.0%} of the time, "
              f"keeps the best trial in {kept} of {len(args.seeds)} seeds")


if __name__ == "__main__":
    main()
