"""``hotline-qa search``: transcript search from the command line (the API's query, every call
visible), and ``hotline-qa search reindex``."""
from __future__ import annotations

import json
from datetime import date

import click

from api.cli import _settings, _upgrade
from qa.cli_options import db_option


class _QueryGroup(click.Group):
    """A group whose unknown first word is the query: ``search 漏水`` runs ``search find 漏水``,
    ``search reindex`` the sub-command."""

    def resolve_command(self, ctx, args):  # noqa: ANN001, ANN201 - click's signature
        if args and args[0] not in self.commands:
            args = ["find", *args]
        return super().resolve_command(ctx, args)


@click.group("search", cls=_QueryGroup, context_settings={"ignore_unknown_options": True})
def search_cmd() -> None:
    """Search what was said in the calls (or rebuild the search index).

    \b
    Examples:
      hotline-qa search 漏水 --speaker customer --from 2026-11-01 --estate 紫荆花园
      hotline-qa search 物业费 --sound --format json
      hotline-qa search reindex
    """


def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"应为 年-月-日，例如 2026-11-02 / expected YYYY-MM-DD: {value}",
                                 param_hint=name) from None


@search_cmd.command("find", context_settings={"ignore_unknown_options": True})
@click.argument("query", nargs=-1, required=True, type=click.UNPROCESSED)
@click.option("--sound", is_flag=True, help="Also sound-alike hits (楼水 for 漏水), marked ~.")
@click.option("--speaker", type=click.Choice(["agent", "customer"]), help="Whose words.")
@click.option("--agent", "agent_id", help="Only this agent's calls (工号).")
@click.option("--from", "date_from", help="First local day, YYYY-MM-DD.")
@click.option("--to", "date_to", help="Last local day, YYYY-MM-DD.")
@click.option("--estate", help="Only calls about this estate.")
@click.option("--call-type", help="inquiry, repair, complaint, suggestion or other.")
@click.option("--rule-failed", help="Only calls that failed this rule (e.g. PO04).")
@click.option("--limit", type=click.IntRange(1, 200), default=20, show_default=True)
@click.option("--page", type=click.IntRange(1, 100_000), default=1, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@db_option
def search_find(query: tuple[str, ...], sound: bool, speaker: str | None, agent_id: str | None,
                date_from: str | None, date_to: str | None, estate: str | None,
                call_type: str | None, rule_failed: str | None, limit: int, page: int,
                fmt: str, db_url: str | None) -> None:
    """Utterances that say QUERY (terms all present; "phrase"; A|B; -excluded), newest first.

    Example: hotline-qa search 漏水 -已修好 --speaker customer
    """
    from api.services import search as svc
    from api.services.calls import CallFilters
    from api.services.errors import ServiceError
    from models import User, session_scope
    from qa.assessment_store import local_tz

    s = _settings(db_url)
    url = s.effective_database_url
    _upgrade(url)
    f = CallFilters(agent_id=agent_id, date_from=_day(date_from, "--from"),
                    date_to=_day(date_to, "--to"), estate=estate, call_type=call_type,
                    rule_failed=rule_failed, page=page, page_size=limit)
    req = svc.SearchRequest(q=" ".join(query), sound=sound, speaker=speaker, filters=f)
    operator = User(username="cli", role="admin")  # the box's operator sees every call
    try:
        with session_scope(url) as db:
            result = svc.search(db, operator, req, s)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None
    if fmt == "json":
        click.echo(json.dumps(result, ensure_ascii=False, default=str, indent=2))
        return
    if result["warning"]:
        click.echo(result["warning"], err=True)
    click.echo(f"{result['total']} 处 / hits，{result['calls']} 通电话 / calls")
    tz = local_tz(s)
    for h in result["items"]:
        c = h["call"] or {}
        text = "".join(f"[{seg['text']}]" if seg["hit"] else seg["text"]
                       for seg in h["segments"])
        when = c["started_at"].astimezone(tz).strftime("%Y-%m-%d %H:%M") if c.get(
            "started_at") else "-"
        click.echo(f"{'~' if h['fuzzy'] else ' '} {h['call_id']}  {when}  "
                   f"{c.get('agent_id') or '-'}  {h['start']:7.1f}s  {h['speaker']:<8} {text}")


@search_cmd.command("reindex")
@db_option
def search_reindex(db_url: str | None) -> None:
    """Rebuild the search index from every stored utterance.

    Example: hotline-qa search reindex --db postgresql+psycopg://postgres@127.0.0.1/hqa
    """
    from models import upgrade
    from qa.transcript_index import reindex

    url = _settings(db_url).effective_database_url
    upgrade(url)
    r = reindex(url, progress=lambda n: click.echo(f"  {n} …", err=True) if n % 100_000 == 0
                else None)
    size = f", {r.size_bytes / 2**20:.1f} MiB" if r.size_bytes else ""
    click.echo(f"已重建搜索索引 / search index rebuilt: {r.utterances} utterances in "
               f"{r.seconds:.1f} s{size}")
