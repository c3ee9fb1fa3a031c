"""Speech recipes: COCONUT continual contrastive spoken language understanding.

Cappellazzo et al., "Continual Contrastive Spoken Language Understanding", Findings of ACL 2024,
arXiv:2310.02699. Modules (import them directly; this package imports nothing heavy):

- :mod:`cl_speech.losses`: ``nspt_loss`` / ``NSPTLoss`` and ``audio_text_contrastive_loss`` /
  ``AudioTextContrastiveLoss`` (COCONUT's NSPT and MM losses, on ``cl_core``'s masked-logits core);
- :mod:`cl_speech.data`: the synthesized spoken-command corpus (intents, voices, manifest, builder);
- :mod:`cl_speech.audio`: WAV reading (soundfile) and the log-mel front end (torchaudio);
- :mod:`cl_speech.model`: conv + transformer audio encoder, transformer text decoder;
- :mod:`cl_speech.replay`, :mod:`cl_speech.continual_metrics`, :mod:`cl_speech.continual`:
  class-balanced replay, accuracy / forgetting / WER, the class-incremental protocol;
- :mod:`cl_speech.sweep`: choosing COCONUT's weights and temperature on validation voices over
  several seeds;
- :mod:`cl_speech.real_speech`: checks on real recordings (Asterisk prompts, FSDD);
- :mod:`cl_speech.bench`, :mod:`cl_speech.cli`: ``cl-bench`` rows and ``cl-train speech``.
"""

__version__ = "0.1.0"
