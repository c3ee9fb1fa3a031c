"""cl-bench recipes of this package (import-light: the run functions live in ``bench_run``)."""

from __future__ import annotations

from cl_core.registry import BenchDataset, BenchRecipe

EMOJI_CARD = (
    "Real: the 3,786 Google emoji images (64x64, npm emoji-datasource-google 16.0.0, MIT/Apache "
    "licence) with their Unicode names and 10 categories; caption 'an emoji of <name>'. "
    "Deterministic 80/20 split by base emoji (skin-tone variants stay with their base)."
)
SHAPES_CARD = (
    "Synthesized: coloured-shape scenes rendered with PIL (5 colours x 4 shapes x 2 relations), "
    "captions such as 'a red circle left of a blue square'; held-out colour-shape combinations."
)
XOR_CARD = (
    "Synthesized: the binary XOR toy of the Symile paper (a, b ~ Bernoulli(0.5), c = a XOR b); "
    "every pairwise mutual information is zero."
)

EMOJI = BenchDataset("emoji", "real", EMOJI_CARD, requires=("emoji",))
SHAPES = BenchDataset("shapes", "synthesized", SHAPES_CARD)
#: The same scenes for Slipform, whose ConcretePlant negatives score words with WordNet 3.0.
SHAPES_WORDNET = BenchDataset("shapes", "synthesized", SHAPES_CARD, requires=("wordnet",))
CONTINUAL_CARD = (
    "Synthesized: a shared Gaussian latent seen through four fixed random linear 'modalities' "
    "(32-d features, noise 0.05), trained as the pairs (0,1), (1,2), (2,3), (3,0) in turn."
)

GAP_CARD = (
    "Synthesized: a joint space of 10 Gaussian classes mapped to 64-d, with one constant offset "
    "per modality (the modality gap) and noise, rows L2-normalised."
)

TWO_VIEW_CARD = (
    "Synthesized: 8 Gaussian classes in a 16-d latent seen through two fixed noisy random linear "
    "'modalities' (24-d, 32-d); 200 labelled training samples."
)

TWO_VIEW = BenchDataset("two-view", "synthesized", TWO_VIEW_CARD)
GAP = BenchDataset("modality-gap", "synthesized", GAP_CARD)
XOR = BenchDataset("xor", "synthesized", XOR_CARD)
CONTINUAL = BenchDataset("continual-pairs", "synthesized", CONTINUAL_CARD)

BUNDLES_CARD = (
    "Synthesized: 300 items in 20 latent clusters with noisy random-linear 'visual' and 'text' "
    "features; 1,500 bundles of 3-6 items from one cluster by Zipf popularity (30% with one item "
    "of the next cluster); 20% held out, first half given, the rest to complete."
)
BUNDLES = BenchDataset("bundles", "synthesized", BUNDLES_CARD)

SPOKEN_SHAPES_CARD = (
    "Synthesized: image = rendered two-shape scene, text = caption of an independent scene, "
    "audio = espeak-ng speaking 'a {colour} {shape}' with colour = (image colour + text colour) "
    "mod 5 (Symile's XOR construction); 3 espeak-ng voices."
)
SPOKEN_SHAPES = BenchDataset(
    "spoken-shapes", "synthesized", SPOKEN_SHAPES_CARD, requires=("espeak-ng",)
)

DATASETS: tuple[BenchDataset, ...] = (
    EMOJI,
    SHAPES,
    XOR,
    CONTINUAL,
    GAP,
    TWO_VIEW,
    BUNDLES,
    SPOKEN_SHAPES,
)

RECIPES: tuple[BenchRecipe, ...] = (
    BenchRecipe(
        method="symile-spoken",
        modality="multimodal",
        datasets=(SPOKEN_SHAPES,),
        run="cl_multimodal.bench_run:run_spoken_symile",
        headline="audio_from_image_text_acc",
        paper="Symile, Saporta et al. 2024, arXiv:2411.01053 (baseline: pairwise CLIP)",
    ),
    BenchRecipe(
        method="clip-improved",
        modality="multimodal",
        datasets=(EMOJI,),
        run="cl_multimodal.bench_run:run_clip_improved",
        headline="i2t_R@1",
        paper=(
            "CLIP, Radford et al. 2021, arXiv:2103.00020; improved baselines (CLIP rocket), "
            "Fini et al. 2023, arXiv:2305.08675 (baseline: plain CLIP)"
        ),
    ),
    BenchRecipe(
        method="grounded-language",
        modality="multimodal",
        datasets=(EMOJI,),
        run="cl_multimodal.bench_run:run_grounded_language",
        headline="visual_overlap",
        paper=(
            "visually grounded word space of a CLIP text tower (CLIP, Radford et al. 2021, "
            "arXiv:2103.00020; grounding check as in Vokenization, Tan & Bansal 2020, "
            "arXiv:2010.06775) (baselines: text tower at init, MiniLM text-only)"
        ),
    ),
    BenchRecipe(
        method="clip-ssl-addons",
        modality="multimodal",
        datasets=(EMOJI,),
        run="cl_multimodal.bench_run:run_clip_ssl_addons",
        headline="zero_shot_acc",
        paper=(
            "CL2L and SiamLIP, Fini et al. 2023, arXiv:2305.08675 (metrics: SiamLIP = CL2L + "
            "SiamLIP; baselines: CL2L alone, improved CLIP)"
        ),
    ),
    BenchRecipe(
        method="negclip",
        modality="multimodal",
        datasets=(SHAPES,),
        run="cl_multimodal.bench_run:run_negclip",
        headline="aro_order",
        paper="NegCLIP / ARO, Yuksekgonul et al. 2023, arXiv:2210.01936 (baseline: CLIP)",
    ),
    BenchRecipe(
        method="symile",
        modality="multimodal",
        datasets=(XOR,),
        run="cl_multimodal.bench_run:run_symile",
        headline="zero_shot_acc",
        paper="Symile, Saporta et al. 2024, arXiv:2411.01053 (baseline: pairwise CLIP)",
    ),
    BenchRecipe(
        method="cmcl",
        modality="multimodal",
        datasets=(CONTINUAL,),
        run="cl_multimodal.bench_run:run_cmcl",
        headline="final_mean_recall",
        paper="CMCL (dual-sided null space), Liu et al., NeurIPS 2025 (baseline: fine-tuning)",
    ),
    BenchRecipe(
        method="close",
        modality="multimodal",
        datasets=(GAP,),
        run="cl_multimodal.bench_run:run_close",
        headline="close_best_acc",
        paper="CLOSE, Gu et al. 2023, arXiv:2211.09778 (baseline: image-trained classifier)",
    ),
    BenchRecipe(
        method="m3col",
        modality="multimodal",
        datasets=(TWO_VIEW,),
        run="cl_multimodal.bench_run:run_m3col",
        headline="fusion_acc",
        paper="M3CoL, Kumar, Singhal et al., arXiv:2409.17777 (baselines: CLIP term, no term)",
    ),
    BenchRecipe(
        method="slipform",
        modality="multimodal",
        datasets=(SHAPES_WORDNET,),
        run="cl_multimodal.bench_run:run_slipform",
        headline="aro_attribution",
        paper=(
            "Slipform (ConcretePlant + Cement), Im, Madhwal, Gupta 2026, arXiv:2604.13313; formula "
            "unpublished, our reading (baselines: ConcretePlant + InfoNCE, NegCLIP, CLIP)"
        ),
    ),
    BenchRecipe(
        method="clhe",
        modality="multimodal",
        datasets=(BUNDLES,),
        run="cl_multimodal.bench_run:run_clhe",
        headline="recall@20",
        paper=(
            "CLHE, Ma, Liu et al., WSDM 2024, arXiv:2310.18770 (baselines: same encoder without "
            "contrastive terms, mean pooling, popularity)"
        ),
    ),
)
