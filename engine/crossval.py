"""k-fold cross-validation: one training run per fold, validated on the held-out fold. Datasets with
writers (the pen digits) fold by writer, so a fold's score is on people its model never saw."""

from collections.abc import Callable

from engine.config import TrainConfig
from engine.datasets import grouped_kfold, kfold_indices, load_dataset
from engine.events import Failed
from engine.train import Trainer, default_run_dir


def cross_validate(
    config: TrainConfig,
    folds: int,
    on_event: Callable[[int, int, object], None] | None = None,
    *,
    data_dir=None,
    on_score: Callable[[int, float], None] | None = None,
    run_dir=None,
) -> list[float]:
    """Validation accuracy of each fold, in order. Raises RuntimeError if a fold's training fails."""

    dataset = load_dataset(config.dataset, data_dir)
    run_dir = run_dir or default_run_dir(config).with_name(default_run_dir(config).name + "-cv")
    scores = []
    if dataset.train_groups is not None:
        splits = grouped_kfold(dataset.train_groups, folds, config.seed)
    else:
        splits = kfold_indices(len(dataset.train_labels), folds, config.seed)
    for k, split in enumerate(splits, start=1):
        trainer = Trainer(
            config, (lambda e, k=k: on_event(k, folds, e)) if on_event else None, dataset=dataset, split=split,
            evaluate_test=False, run_dir=run_dir / f"fold{k}",
        )
        result = trainer.run()
        if isinstance(result, Failed):
            raise RuntimeError(f"fold {k}: {result.message}")
        scores.append(trainer.history[-1]["val_accuracy"])
        if on_score:
            on_score(k, scores[-1])
    return scores
