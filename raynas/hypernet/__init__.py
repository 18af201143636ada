"""MODNAS: a preference- and hardware-conditioned architecture generator trained by MGD.

* :class:`MetaHypernetwork` — (preference, hardware embedding) -> logits per decision.
* :mod:`~raynas.hypernet.sampling` — straight-through Gumbel-softmax and ReinMax.
* :mod:`~raynas.hypernet.mgd` — min-norm convex combination of gradients (closed form / Frank-Wolfe).
* :class:`MetaPredictor`, :class:`AccuracySurrogate` — differentiable objectives (defined in
  :mod:`raynas.predictors.modnas`, the home of every learned model).
* :class:`HypernetTrainer` (surrogate mode), :class:`SupernetTrainer` (weight-sharing supernet mode).
* :func:`train_surrogate_mode` — everything from the published tables in one call.
"""

from raynas.hypernet.mgd import mgd_direction, min_norm_2, min_norm_weights
from raynas.hypernet.model import MetaHypernetwork, preference_grid, sample_preferences
from raynas.hypernet.pipeline import SurrogateBundle, default_device_split, train_surrogate_mode
from raynas.predictors.modnas import (AccuracyFit, AccuracySurrogate, HardwareProfile, LatencyData, MetaPredictor,
                                        fit_accuracy_surrogate, fit_meta_predictor, load_latency_data,
                                        nb201_accuracy_surrogate, refit_accuracy_surrogate, refit_meta_predictor)
from raynas.hypernet.sampling import reinmax, st_gumbel_softmax
from raynas.hypernet.train import HypernetTrainer, TrainSettings, scalarise

__all__ = [
    "MetaHypernetwork", "preference_grid", "sample_preferences", "mgd_direction", "min_norm_2",
    "min_norm_weights", "st_gumbel_softmax", "reinmax", "HardwareProfile", "LatencyData", "MetaPredictor",
    "AccuracySurrogate", "AccuracyFit", "fit_meta_predictor", "fit_accuracy_surrogate", "load_latency_data",
    "nb201_accuracy_surrogate", "refit_meta_predictor", "refit_accuracy_surrogate", "HypernetTrainer", "TrainSettings", "scalarise", "SurrogateBundle",
    "train_surrogate_mode", "default_device_split", "SupernetTrainer",
]


def __getattr__(name):  # the supernet pulls in more of torch.nn; import it on first use
    if name == "SupernetTrainer":
        from raynas.hypernet.supernet import SupernetTrainer

        return SupernetTrainer
    raise AttributeError(name)
