"""Decoding of call recordings into float samples, one array per channel.

Only decodes (no speech detection, no recognition). Everything PyAV (FFmpeg) can read is
accepted: WAV (PCM 8/16-bit, μ-law, A-law), MP3, AMR-NB, M4A/AAC, OGG/Opus, FLAC, at any sample
rate, mono or stereo. Bad input raises one typed error, :class:`AudioError`, whose ``reason``
is a short code and whose message is Chinese + English — never an exception from inside FFmpeg.

Note: faster-whisper's own ``decode_audio(split_stereo=True)`` returns two copies of a mono
file without complaint, so the channel count is checked here from the stream itself.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

logger = logging.getLogger("hotline_qa.transcribe.audio")

#: Sample rate of decoded audio (what Whisper expects), Hz.
SAMPLE_RATE = 16000
#: Samples checked and clipped at once after decoding.
_BLOCK = 1 << 20

_MESSAGES = {
    "empty": ("录音文件为空", "the file is empty (0 bytes)"),
    "not_found": ("录音文件不存在", "the file does not exist"),
    "truncated": ("录音文件不完整（可能在传输中被截断）", "the recording is truncated"),
    "not_audio": ("不是音频文件", "the file is not an audio recording"),
    "unsupported_codec": ("不支持的音频编码", "the audio codec is not supported"),
    "no_audio": ("文件中没有音频内容", "the file contains no audio"),
    "too_many_channels": ("声道数过多（只支持单声道或双声道）",
                          "too many channels (only mono or stereo is supported)"),
    "too_long": ("录音时长超过上限", "the recording is longer than the configured limit"),
}

# First bytes of the containers a call recorder writes: a file that starts like one of these but
# cannot be opened was cut short; anything else is not audio at all.
_MAGIC = (b"RIFF", b"RF64", b"ID3", b"fLaC", b"OggS", b"#!AMR", b"FORM", b"\xff\xfb", b"\xff\xf3",
          b"\xff\xf2", b"\xff\xf1", b"\xff\xf9")


#: What to do about each, in Chinese and English (appended to the message).
_ADVICE = {
    "empty": ("请从录音设备重新导出该文件", "export the file from the recorder again"),
    "not_found": ("请检查文件路径", "check the path"),
    "truncated": ("请等文件传完，或从录音设备重新导出", "wait until the copy is complete, or export "
                  "it from the recorder again"),
    "not_audio": ("请确认放入的是录音文件（WAV、MP3、AMR、M4A、OGG、FLAC）",
                  "make sure it is a recording (WAV, MP3, AMR, M4A, OGG, FLAC)"),
    "unsupported_codec": ("请转换为 WAV 或 MP3 后重新放入", "convert it to WAV or MP3 and add it "
                          "again"),
    "no_audio": ("请检查录音设备是否录到了声音", "check that the recorder captured sound"),
    "too_many_channels": ("请导出单声道或双声道（左坐席、右客户）录音",
                          "export it as mono or stereo (agent left, customer right)"),
    "too_long": ("请分段导出，或调大设置 HOTLINE_QA_MAX_DURATION_S",
                 "split it, or raise the HOTLINE_QA_MAX_DURATION_S setting"),
}


class AudioError(Exception):
    """A recording cannot be decoded.

    Attributes:
        reason: one of ``empty``, ``not_found``, ``truncated``, ``not_audio``,
            ``unsupported_codec``, ``no_audio``, ``too_many_channels``, ``too_long``.
        path: the file concerned.
        detail: extra English detail (e.g. the codec name), possibly empty.
    """

    def __init__(self, reason: str, path: Path | str | None = None, detail: str = ""):
        self.reason = reason
        self.path = None if path is None else Path(path)
        self.detail = detail
        zh, en = _MESSAGES.get(reason, ("无法解码录音", "the recording cannot be decoded"))
        where = f"{self.path.name}: " if self.path is not None else ""
        msg = f"{where}{zh} / {en}"
        if detail:
            msg += f" ({detail})"
        if reason in _ADVICE:
            todo_zh, todo_en = _ADVICE[reason]
            msg += f" — 处理 / what to do: {todo_zh} / {todo_en}"
        super().__init__(msg)

    @property
    def message_zh(self) -> str:
        return _MESSAGES.get(self.reason, ("无法解码录音", ""))[0]


@dataclass
class DecodedAudio:
    """A decoded recording.

    Attributes:
        channels: one float32 array per source channel, values in [-1, 1], at ``sample_rate``.
        sample_rate: rate of ``channels`` in Hz (16000 unless asked otherwise).
        source_rate: the recording's own sample rate in Hz.
        codec: FFmpeg codec name (e.g. ``mp3``, ``pcm_mulaw``).
        container: FFmpeg container format name (e.g. ``wav``, ``mp3``).
        bit_rate: declared bit rate in bit/s, when known.
        warnings: non-fatal problems met while decoding.
    """

    channels: list[np.ndarray]
    sample_rate: int
    source_rate: int
    codec: str
    container: str
    bit_rate: int | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def n_channels(self) -> int:
        return len(self.channels)

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.channels[0]) / self.sample_rate if self.channels else 0.0

    def mix(self) -> np.ndarray:
        """The mono mix (mean of the channels)."""
        if len(self.channels) == 1:
            return self.channels[0]
        return np.mean(np.stack(self.channels), axis=0).astype(np.float32)


def _classify_open_failure(path: Path, exc: Exception) -> AudioError:
    with open(path, "rb") as f:
        head = f.read(16)
    if head.startswith(_MAGIC) or head[4:8] == b"ftyp":
        return AudioError("truncated", path, f"cannot read the header: {exc}")
    return AudioError("not_audio", path, str(exc).split(";")[0][:200])


def _wav_missing_bytes(path: Path) -> int:
    """How many bytes of a RIFF/WAVE file's ``data`` chunk are missing from the file (0 if
    complete, unknown, or not a WAV). Recorders that stream write 0 or 0xFFFFFFFF: ignored."""
    import struct  # noqa: PLC0415

    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return 0
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            cid, clen = struct.unpack("<4sI", f.read(8))
            if cid == b"data":
                if clen in (0, 0xFFFFFFFF):
                    return 0
                return max(0, pos + 8 + clen - size)
            pos += 8 + clen + (clen & 1)
    return 0


def _capacity(declared_s: float | None, sample_rate: int, limit: int) -> int:
    """Samples to allocate before decoding: the header's length and a little more (a minute
    when it says nothing); at most ``limit + 1``."""
    guess = declared_s * sample_rate * 1.01 + sample_rate if declared_s else 60 * sample_rate
    return int(min(guess, limit + 1))


def decode(path: Path | str, sample_rate: int = SAMPLE_RATE,
           max_duration_s: float | None = None) -> DecodedAudio:
    """Decode a recording into one float32 array per channel.

    Args:
        path: the audio file.
        sample_rate: output rate in Hz (resampled with FFmpeg's resampler).
        max_duration_s: reject recordings longer than this many seconds (default: the
            ``max_duration_s`` setting, 3 h); checked from the header and while decoding.

    Returns:
        The :class:`DecodedAudio` (1 or 2 channels).

    Raises:
        AudioError: empty, missing, truncated, not audio, unsupported codec, no audio (no audio
            stream or zero samples), more than 2 channels, or longer than the limit.
    """
    import av  # noqa: PLC0415 - heavy; imported when used

    path = Path(path)
    if max_duration_s is None:
        from transcribe.settings import get_transcribe_settings
        max_duration_s = get_transcribe_settings().max_duration_s
    if not path.is_file():
        raise AudioError("not_found", path)
    if path.stat().st_size == 0:
        raise AudioError("empty", path)
    missing = _wav_missing_bytes(path)
    if missing:
        raise AudioError("truncated", path, f"{missing} bytes of the WAV data chunk are missing")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        raise _classify_open_failure(path, exc) from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise AudioError("not_audio", path, str(exc)[:200]) from None
    with container:
        container_name = container.format.name if container.format else "unknown"
        if not container.streams.audio:
            raise AudioError("no_audio", path, "no audio stream")
        stream = container.streams.audio[0]
        ctx = stream.codec_context
        codec = getattr(ctx, "name", None) or "unknown"
        if not getattr(ctx, "codec", None) or codec in ("none", "unknown"):
            raise AudioError("unsupported_codec", path, f"codec {codec}")
        n_ch = ctx.layout.nb_channels if ctx.layout is not None else 0
        if n_ch == 0:
            n_ch = getattr(ctx, "channels", 0) or 0
        if n_ch > 2:
            raise AudioError("too_many_channels", path, f"{n_ch} channels")
        if n_ch <= 0:
            raise AudioError("unsupported_codec", path, "unknown channel layout")
        if not ctx.sample_rate:
            raise AudioError("unsupported_codec", path, f"codec {codec} without a sample rate")
        declared = None
        if stream.duration is not None and stream.time_base is not None:
            declared = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            declared = container.duration / 1_000_000
        if declared is not None and declared > max_duration_s:
            raise AudioError("too_long", path,
                             f"{declared / 3600:.2f} h > limit {max_duration_s / 3600:.2f} h")
        source_rate = int(ctx.sample_rate)
        layout = "stereo" if n_ch == 2 else "mono"
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=sample_rate)
        total = 0
        limit = int(max_duration_s * sample_rate) + sample_rate
        warnings: list[str] = []
        # Decoded straight into one array sized from the header (grown if the header said
        # too little): no list of frames to concatenate, so a long recording takes its own
        # size in memory, not twice that (a 3-hour call is 0.7 GB of float32 at 16 kHz).
        data = np.empty((n_ch, _capacity(declared, sample_rate, limit)), np.float32)

        def take(frames) -> None:
            nonlocal total, data
            for fr in frames:
                arr = fr.to_ndarray()  # (channels, samples), planar float32
                if arr.ndim == 1:
                    arr = arr[None, :]
                m = arr.shape[1]
                if total + m > data.shape[1]:
                    if total + m > limit:
                        raise AudioError("too_long", path,
                                         f"> limit {max_duration_s / 3600:.2f} h")
                    grown = np.empty((n_ch, min(limit + 1, max(total + m, data.shape[1] * 3 // 2))),
                                     np.float32)
                    grown[:, :total] = data[:, :total]
                    data = grown
                data[:, total:total + m] = arr
                total += m
            if total > limit:
                raise AudioError("too_long", path, f"> limit {max_duration_s / 3600:.2f} h")

        try:
            for packet in container.demux(stream):
                for frame in packet.decode():
                    take(resampler.resample(frame))
            take(resampler.resample(None))
        except AudioError:
            raise
        except av.error.DecoderNotFoundError as exc:
            raise AudioError("unsupported_codec", path, f"codec {codec}: {exc}") from None
        except (av.error.FFmpegError, ValueError) as exc:
            if total == 0:
                raise AudioError("truncated", path, f"no frame could be decoded: {exc}") from None
            raise AudioError("truncated", path,
                             f"decoding failed after {total / sample_rate:.1f} s: {exc}") from None
    if total == 0:
        raise AudioError("no_audio", path, "zero-length audio")
    duration = total / sample_rate
    if declared is not None and declared > 1.0 and duration < 0.9 * declared - 0.5:
        raise AudioError("truncated", path,
                         f"header says {declared:.1f} s, only {duration:.1f} s could be decoded")
    # one array per channel, exactly as long as what was decoded (copied only when the
    # header promised clearly more than there was)
    channels = [data[i, :total] if data.shape[1] - total <= data.shape[1] // 50
                else data[i, :total].copy() for i in range(n_ch)]
    del data
    bad = False
    for ch in channels:  # in blocks: no whole-recording temporaries
        for i in range(0, total, _BLOCK):
            block = ch[i:i + _BLOCK]
            if not np.isfinite(block).all():
                np.nan_to_num(block, copy=False)
                bad = True
            np.clip(block, -1.0, 1.0, out=block)
    if bad:
        warnings.append("non-finite samples replaced by 0")
    return DecodedAudio(
        channels=channels,
        sample_rate=sample_rate, source_rate=source_rate, codec=codec,
        container=container_name,
        bit_rate=getattr(ctx, "bit_rate", None) or None, warnings=warnings)
