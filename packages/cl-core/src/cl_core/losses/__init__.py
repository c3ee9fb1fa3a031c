"""Contrastive losses: a masked-logits core and the loss families built on it.

Every loss is a function (the math) plus a thin ``nn.Module`` holding its hyper-parameters. The
InfoNCE family (``info_nce``, ``nt_xent``, ``clip_loss``, ``supcon``, ``dcl``, ...) is built on
``masked_logits_loss``; multi-view, CACR, AMCL, Hydra, Symile, mixup and soft-CLIP losses live in
their own modules and are re-exported here too.
"""

from cl_core.losses.amcl import AMCLLoss, amcl_regularizer, amcl_simclr
from cl_core.losses.cacr import (
    CACRLoss,
    cacr,
    cacr_attraction,
    cacr_repulsion,
    cacr_transport_weights,
)
from cl_core.losses.clip import CLIPLoss, clip_loss
from cl_core.losses.decoupled import DCLLoss, DCLWLoss, dcl
from cl_core.losses.hard_negative import HardNegativeInfoNCELoss, hard_negative_info_nce
from cl_core.losses.hydra import HydraLoss, hydra_multipos_ce, sample_partner_labels
from cl_core.losses.info_nce import InfoNCELoss, info_nce
from cl_core.losses.input_label import InputLabelContrastLoss, input_label_contrast
from cl_core.losses.margin import (
    ContrastiveMarginLoss,
    CosineTripletMarginLoss,
    contrastive_margin,
    triplet_margin,
)
from cl_core.losses.masked_logits import AUTO_TILE_ELEMENTS, masked_logits_loss
from cl_core.losses.mixup import M3CoLoss, MixupBatch, m3co, m3co_loss, m3co_soft_targets, mixco_mix
from cl_core.losses.multiview import (
    MultiViewAverageLoss,
    MultiViewPairwiseLoss,
    MVDHELLoss,
    MVInfoNCELoss,
    mv_average_of_others,
    mv_dhel,
    mv_infonce,
    mv_pairwise_average,
)
from cl_core.losses.nt_xent import NTXentLoss, nt_xent
from cl_core.losses.proto_nce import ClusterPrototypes, ProtoNCELoss, cluster_prototypes, proto_nce
from cl_core.losses.sepclr import (
    SepCLRLoss,
    gaussian_alignment,
    gaussian_uniformity,
    kernel_joint_entropy,
    sepclr,
)
from cl_core.losses.soft_clip import SoftCLIPLoss, soft_clip, soft_clip_targets
from cl_core.losses.supcon import SupConLoss, supcon
from cl_core.losses.symile import SymileLoss, symile, symile_logits, symile_zero_shot_scores

__all__ = [
    "AUTO_TILE_ELEMENTS",
    "AMCLLoss",
    "CACRLoss",
    "CLIPLoss",
    "ClusterPrototypes",
    "ContrastiveMarginLoss",
    "CosineTripletMarginLoss",
    "DCLLoss",
    "DCLWLoss",
    "HardNegativeInfoNCELoss",
    "HydraLoss",
    "InfoNCELoss",
    "InputLabelContrastLoss",
    "M3CoLoss",
    "MVDHELLoss",
    "MVInfoNCELoss",
    "MixupBatch",
    "MultiViewAverageLoss",
    "MultiViewPairwiseLoss",
    "NTXentLoss",
    "ProtoNCELoss",
    "SepCLRLoss",
    "SoftCLIPLoss",
    "SupConLoss",
    "SymileLoss",
    "amcl_regularizer",
    "amcl_simclr",
    "cacr",
    "cacr_attraction",
    "cacr_repulsion",
    "cacr_transport_weights",
    "clip_loss",
    "cluster_prototypes",
    "contrastive_margin",
    "dcl",
    "gaussian_alignment",
    "gaussian_uniformity",
    "hard_negative_info_nce",
    "hydra_multipos_ce",
    "info_nce",
    "input_label_contrast",
    "kernel_joint_entropy",
    "m3co",
    "m3co_loss",
    "m3co_soft_targets",
    "masked_logits_loss",
    "mixco_mix",
    "mv_average_of_others",
    "mv_dhel",
    "mv_infonce",
    "mv_pairwise_average",
    "nt_xent",
    "proto_nce",
    "sample_partner_labels",
    "sepclr",
    "soft_clip",
    "soft_clip_targets",
    "supcon",
    "symile",
    "symile_logits",
    "symile_zero_shot_scores",
    "triplet_margin",
]
