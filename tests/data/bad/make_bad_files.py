"""Make the bad-audio test files in tests/data/bad (run from the repo root; the files are committed)."""
import struct
import wave
from pathlib import Path
import numpy as np
out = Path("tests/data/bad")
out.mkdir(parents=True, exist_ok=True)
src = Path("tests/data/calls/pub-003.stereo.wav").read_bytes()
(out / "empty.wav").write_bytes(b"")
(out / "text.wav").write_text("这不是录音 / this is not a recording\n", encoding="utf-8")
(out / "truncated.wav").write_bytes(src[:16044])           # header says 96 s, 1 s of data
(out / "truncated_header.wav").write_bytes(src[:30])        # cut inside the header
def wav(path, ch, n, rate=8000):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(ch)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.random.default_rng(0).standard_normal(n * ch) * 300).astype("<i2").tobytes())
wav(out / "three_channels.wav", 3, 800)
wav(out / "zero_length.wav", 1, 0)
# a WAV whose format tag (0x7A7A) no decoder knows
fmt = struct.pack("<HHIIHH", 0x7A7A, 1, 8000, 16000, 2, 16)
data = b"\x00\x01" * 800
body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
(out / "unsupported_codec.wav").write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
