"""k-fold cross-validation: one training run per fold, validated on the held-out fold. Datasets with
writers (the pen digits) fold by writer, so a fold's score is on people its model never saw."""

from collections.abc import Callable
from pathlib import Path

from engine.compare import fold_split
from engine.config import TrainConfig
from engine.datasets import load_dataset
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
    scores = []
    for k in range(1, folds + 1):
        trainer = Trainer(
            config, (lambda e, k=k: on_event(k, folds, e)) if on_event else None, dataset=dataset,
            split=fold_split(dataset, config, (k, folds)), evaluate_test=False, label=f"cv fold {k}/{folds}", data_dir=data_dir,
            run_dir=Path(run_dir) / f"fold{k}" if run_dir else default_run_dir(config),  # each fold a kept run
        )
        result = trainer.run()
        if isinstance(result, Failed):
            raise RuntimeError(f"fold {k}: {result.message}")
        scores.append(trainer.history[-1]["val_accuracy"])
        if on_score:
            on_score(k, scores[-1])
    return scores
