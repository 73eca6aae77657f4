"""Audio → transcript: decoding, channels, VAD, ASR engine, text normalisation, measurements,
and provisioning of the embedded default model.

Kept light on import: the recogniser and its heavy dependencies load only when used.
"""
from transcribe.records import SPEAKERS, Transcript, TranscriptFormatError, Utterance, Word

__all__ = ["SPEAKERS", "Transcript", "TranscriptFormatError", "Utterance", "Word"]
