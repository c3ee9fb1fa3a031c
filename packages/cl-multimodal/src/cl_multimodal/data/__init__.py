"""Data: real emoji image-caption pairs, rendered shape scenes, image-caption folders."""
