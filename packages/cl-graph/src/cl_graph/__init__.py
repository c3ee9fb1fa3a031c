"""Heterogeneous-graph contrastive learning: MEOW, AdaMEOW and a HeCo-style cross-view baseline.

Import-light: ``cl_graph.data`` (containers, HeCo loaders), ``cl_graph.losses`` (MEOW weighted
InfoNCE, ProtoNCE, AdaMEOW, cross-view InfoNCE on ``cl_core.losses.masked_logits_loss``),
``cl_graph.model`` (meta-path views), ``cl_graph.trainer`` (``train_graph``),
``cl_graph.evaluation`` (20/40/60-split Macro-F1 / Micro-F1 / AUC, k-means NMI / ARI).
"""

__version__ = "0.1.0"
