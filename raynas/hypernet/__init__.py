"""MODNAS: a preference- and hardware-conditioned architecture generator trained by MGD.

* :class:`MetaHypernetwork` — (preference, hardware embedding) -> logits per decision.
* :mod:`~raynas.hypernet.sampling` — straight-through Gumbel-softmax and ReinMax.
* :mod:`~raynas.hypernet.mgd` — min-norm convex combination of gradients (closed form / Frank-Wolfe).
* :class:`MetaPredictor`, :class:`AccuracySurrogate` — differentiable objectives.
* :class:`HypernetTrainer` (surrogate mode), :class:`SupernetTrainer` (weight-sharing supernet mode).
* :func:`train_surrogate_mode` — everything from the published tables in one call.
"""

from raynas.hypernet.mgd import mgd_direction, min_norm_2, min_norm_weights
from raynas.hypernet.model import MetaHypernetwork, preference_grid, sample_preferences
from raynas.hypernet.pipeline import SurrogateBundle, train_surrogate_mode
from raynas.hypernet.predictors import (AccuracySurrogate, HardwareProfile, LatencyData, MetaPredictor,
                                        fit_meta_predictor, load_latency_data, nb201_accuracy_surrogate,
                                        reference_archs)
from raynas.hypernet.sampling import reinmax, st_gumbel_softmax
from raynas.hypernet.train import HypernetTrainer, TrainSettings, scalarise

__all__ = [
    "MetaHypernetwork", "preference_grid", "sample_preferences", "mgd_direction", "min_norm_2",
    "min_norm_weights", "st_gumbel_softmax", "reinmax", "HardwareProfile", "LatencyData", "MetaPredictor",
    "AccuracySurrogate", "fit_meta_predictor", "load_latency_data", "nb201_accuracy_surrogate",
    "reference_archs", "HypernetTrainer", "TrainSettings", "scalarise", "SurrogateBundle",
    "train_surrogate_mode", "SupernetTrainer",
]


def __getattr__(name):  # the supernet pulls in more of torch.nn; import it on first use
    if name == "SupernetTrainer":
        from raynas.hypernet.supernet import SupernetTrainer

        return SupernetTrainer
    raise AttributeError(name)
