"""MEOW's two views of a heterogeneous graph: a coarse meta-path GCN and fine meta-path contexts.

Yu & Li, "Heterogeneous Graph Contrastive Learning with Meta-path Contexts and Weighted Negative
Samples", SDM 2023, arXiv:2212.13847.

- Every node type t is projected: :math:`h^t = \\mathrm{ELU}(\\mathrm{drop}(W_t x^t))` (a learned
  embedding when the type has no features).
- Coarse view: :math:`z^{c} = \\mathrm{GCN}(h^{tgt}, \\bar A)` with :math:`\\bar A` the mean of the
  normalised meta-path adjacencies.
- Fine view, per meta-path p with inner hops h: :math:`h_p = \\mathrm{ELU}(h^{tgt} +
  \\sum_h \\mathrm{drop}(U_{p,h} M_{p,h} h^{t_h}))` (meta-path context), encoded by the *shared* GCN
  on :math:`\\hat A_p`; a second copy uses feature-masked targets and an edge-dropped
  :math:`\\hat A_p`. The 2P normalised embeddings are fused by semantic attention (Wang et al.,
  "Heterogeneous Graph Attention Network", WWW 2019, arXiv:1903.07293).
- Both views pass through one projection :math:`\\mathrm{normalize}(\\tanh(W z))`.
The fused fine embedding (before projection) is the node representation.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cl_graph.prepared import PreparedGraph
from cl_graph.sparse_ops import drop_edges, gcn_normalized, sparse_matmul


class GraphConvolution(nn.Module):
    """:math:`\\hat A\\,\\mathrm{drop}(X W)` (Kipf & Welling, ICLR 2017, arXiv:1609.02907)."""

    def __init__(self, in_dim: int, out_dim: int, dropout: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(in_dim, out_dim))
        bound = 1.0 / math.sqrt(out_dim)
        nn.init.uniform_(self.weight, -bound, bound)
        self.dropout = nn.Dropout(dropout)

    def forward(self, features: Tensor, adjacency: Tensor) -> Tensor:
        """(N, in) features and a sparse (N, N) adjacency -> (N, out)."""
        return sparse_matmul(adjacency, self.dropout(features @ self.weight))


class GCNEncoder(nn.Module):
    """Two graph convolutions (PReLU between) and a parameter-free layer norm, as in MEOW."""

    def __init__(self, in_dim: int, out_dim: int, dropout: float) -> None:
        super().__init__()
        self.first = GraphConvolution(in_dim, out_dim, dropout)
        self.activation = nn.PReLU()
        self.second = GraphConvolution(out_dim, out_dim, dropout)

    def forward(self, features: Tensor, adjacency: Tensor) -> Tensor:
        hidden = self.activation(self.first(features, adjacency))
        output = self.second(hidden, adjacency)
        return F.layer_norm(output, output.shape[-1:])


class SemanticAttention(nn.Module):
    """Semantic attention.

    :math:`\\beta = \\mathrm{softmax}_p(q^\\top \\overline{\\tanh(W z_p + b)})`,
    :math:`z = \\sum_p \\beta_p z_p`.
    """

    def __init__(self, dim: int, dropout: float) -> None:
        super().__init__()
        self.transform = nn.Linear(dim, dim)
        nn.init.xavier_normal_(self.transform.weight, gain=1.414)
        self.query = nn.Parameter(torch.empty(1, dim))
        nn.init.xavier_normal_(self.query, gain=1.414)
        self.dropout = nn.Dropout(dropout)

    def forward(self, embeddings: list[Tensor]) -> tuple[Tensor, Tensor]:
        """Fuse P (N, D) embeddings; returns the (N, D) fusion and the (P,) weights."""
        summaries = torch.stack([torch.tanh(self.transform(z)).mean(dim=0) for z in embeddings])
        weights = torch.softmax((self.dropout(self.query) @ summaries.T).reshape(-1), dim=0)
        fused = sum(w * z for w, z in zip(weights, embeddings, strict=True))
        return fused, weights


class MetaPathViews(nn.Module):
    """Coarse and fine views of the target nodes plus the shared projection head.

    Args:
        graph: the prepared graph (fixes node types, feature widths and meta-paths).
        hidden_dim: width of projected node features.
        embed_dim: width of the GCN output and of the embeddings.
        dropout: dropout on projections, contexts and GCN inputs.
        attention_dropout: dropout on the semantic-attention query.

    Shapes:
        ``forward`` returns coarse (N, embed_dim), fine (N, embed_dim), and the projected,
        normalised coarse and fine views.

    Example:
        >>> views = MetaPathViews(prepared, hidden_dim=64, embed_dim=64)  # doctest: +SKIP
        >>> out = views(prepared, feature_mask_rate=0.3)  # doctest: +SKIP
    """

    def __init__(
        self,
        graph: PreparedGraph,
        *,
        hidden_dim: int = 64,
        embed_dim: int = 64,
        dropout: float = 0.2,
        attention_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if hidden_dim < 1 or embed_dim < 1:
            raise ValueError(
                f"hidden_dim and embed_dim must be >= 1, got {hidden_dim}, {embed_dim}"
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {dropout}")
        self.inputs = nn.ModuleDict()
        for node_type, features in graph.node_features.items():
            if features is None:
                self.inputs[node_type] = nn.Embedding(graph.node_counts[node_type], hidden_dim)
            else:
                self.inputs[node_type] = nn.Linear(features.shape[1], hidden_dim)
        self.context = nn.ModuleList(
            nn.ModuleList(nn.Linear(hidden_dim, hidden_dim, bias=False) for _ in hops)
            for hops in graph.contexts
        )
        self.encoder = GCNEncoder(hidden_dim, embed_dim, dropout)
        self.attention = SemanticAttention(embed_dim, attention_dropout)
        self.projection = nn.Linear(embed_dim, embed_dim)
        self.dropout = nn.Dropout(dropout)

    def project(self, embeddings: Tensor) -> Tensor:
        """The shared head :math:`\\mathrm{normalize}(\\tanh(W z))`."""
        return F.normalize(torch.tanh(self.projection(embeddings)), dim=-1)

    def node_input(self, graph: PreparedGraph, node_type: str, mask_rate: float = 0.0) -> Tensor:
        """:math:`\\mathrm{ELU}(\\mathrm{drop}(W_t x^t))`, with a fraction ``mask_rate`` of input
        entries zeroed (MEOW's feature masking)."""
        layer = self.inputs[node_type]
        features = graph.node_features[node_type]
        if features is None:
            projected = layer.weight
            if mask_rate > 0:
                projected = projected * (torch.rand_like(projected) >= mask_rate)
        else:
            if mask_rate > 0:
                features = features * (torch.rand_like(features) >= mask_rate)
            projected = layer(features)
        return F.elu(self.dropout(projected))

    def forward(
        self,
        graph: PreparedGraph,
        *,
        feature_mask_rate: float = 0.0,
        edge_drop_rates: list[float] | None = None,
    ) -> dict[str, Tensor]:
        """Compute both views.

        Args:
            graph: the prepared graph this module was built for.
            feature_mask_rate: fraction of target input entries zeroed in the masked copies.
            edge_drop_rates: per meta-path edge-drop rate of the masked copies (default 0).

        Returns:
            ``coarse``, ``fine`` (N, D) embeddings, ``coarse_projected``, ``fine_projected``
            (normalised), and ``attention`` (2P,) semantic weights.
        """
        num_paths = len(graph.adjacencies)
        rates = edge_drop_rates if edge_drop_rates is not None else [0.0] * num_paths
        if len(rates) != num_paths:
            raise ValueError(
                f"edge_drop_rates must give one rate per meta-path ({num_paths}), got {len(rates)}"
            )
        target = self.node_input(graph, graph.target)
        masked_target = (
            self.node_input(graph, graph.target, feature_mask_rate)
            if feature_mask_rate > 0
            else target
        )
        inputs = {t: self.node_input(graph, t) for t in graph.node_features if t != graph.target}
        inputs[graph.target] = target
        fine_views = []
        for path_index, hops in enumerate(graph.contexts):
            context = sum(
                self.dropout(layer(sparse_matmul(matrix, inputs[node_type], transpose)))
                for layer, (node_type, matrix, transpose) in zip(
                    self.context[path_index], hops, strict=True
                )
            )
            adjacency = graph.adjacencies[path_index]
            fine_views.append(self.encoder(F.elu(target + context), adjacency))
            if rates[path_index] > 0:
                edges = drop_edges(graph.edge_indices[path_index], rates[path_index])
                adjacency = gcn_normalized(edges, graph.num_targets)
            fine_views.append(self.encoder(F.elu(masked_target + context), adjacency))
        fine, attention = self.attention([F.normalize(z, dim=-1) for z in fine_views])
        coarse = self.encoder(target, graph.mean_adjacency)
        return {
            "coarse": coarse,
            "fine": fine,
            "coarse_projected": self.project(coarse),
            "fine_projected": self.project(fine),
            "attention": attention,
        }
