"""``hotline-qa transcribe`` and ``hotline-qa models``: thin click commands over the library."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from transcribe.audio import AudioError
from transcribe.model import ModelError
from transcribe.sidecar import read_sidecar


def _meta_for(path: Path) -> dict:
    """The sidecar ``<path minus suffix>.meta.json`` beside a recording, or ``{}``."""
    data = read_sidecar(path)
    if "sidecar_error" in data:
        raise click.ClickException(f"元数据文件无法读取，请修正或删除 / the metadata sidecar "
                                   f"cannot be read, fix or remove it: {data['sidecar_error']}")
    return data


@click.command("transcribe")
@click.argument("audio", type=click.Path(path_type=Path, dir_okay=False))
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the transcript JSON here instead of printing it.")
@click.option("--model", type=click.Path(path_type=Path, file_okay=False),
              help="CTranslate2 Whisper model directory (default: HOTLINE_QA_MODEL or the "
                   "embedded model).")
@click.option("--agent-channel", type=click.Choice(["left", "right"]),
              help="Stereo channel of the agent (default: HOTLINE_QA_AGENT_CHANNEL, left).")
@click.option("--call-id", help="Call id to put in the transcript (default: the file name).")
def transcribe_cmd(audio: Path, output: Path | None, model: Path | None,
                   agent_channel: str | None, call_id: str | None) -> None:
    """Transcribe a call recording into the transcript document (RULES.md).

    Metadata is read from the sidecar AUDIO-minus-suffix.meta.json when present.

    Example:

        hotline-qa transcribe calls/pub-001.stereo.mp3 -o pub-001.json
    """
    from transcribe.engine import Transcriber  # noqa: PLC0415 - heavy

    try:
        tr = Transcriber(model=model).transcribe(
            audio, metadata=_meta_for(audio), agent_channel=agent_channel,
            call_id=call_id or audio.name.split(".")[0])
    except (AudioError, ModelError) as exc:
        raise click.ClickException(str(exc)) from None
    text = json.dumps(tr.to_dict(), ensure_ascii=False, indent=1)
    if output is None:
        click.echo(text)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(output)
    click.echo(f"已写入 / written: {output} ({len(tr.utterances)} utterances)", err=True)


@click.group("models")
def models_cmd() -> None:
    """The ASR model: install (assemble) the embedded one, or show which one is used.

    Example:

        hotline-qa models install
    """


@models_cmd.command("install")
@click.option("--model", type=click.Path(path_type=Path, file_okay=False),
              help="Validate this model directory instead of the embedded model.")
def install_cmd(model: Path | None) -> None:
    """Assemble and verify the embedded model (or validate a configured one).

    Example:

        hotline-qa models install
    """
    from transcribe.model import ensure_model, model_info  # noqa: PLC0415

    try:
        path = ensure_model(model, verify=True)
    except ModelError as exc:
        raise click.ClickException(str(exc)) from None
    info = model_info(path)
    click.echo(f"模型就绪 / model ready: {path} ({info.get('size', 0):,} bytes)")


@models_cmd.command("info")
@click.option("--model", type=click.Path(path_type=Path, file_okay=False),
              help="Model directory to describe (default: the configured one).")
def info_cmd(model: Path | None) -> None:
    """Show the model that transcription uses, as JSON (assembles the default if needed).

    Example:

        hotline-qa models info
    """
    from transcribe.model import ensure_model, model_info  # noqa: PLC0415

    try:
        path = ensure_model(model)
    except ModelError as exc:
        raise click.ClickException(str(exc)) from None
    json.dump(model_info(path), sys.stdout, ensure_ascii=False, indent=1)
    click.echo()
