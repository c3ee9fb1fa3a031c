"""The synthesized Fluent-Speech-Commands-style corpus: intents, voices, manifest and builder."""
