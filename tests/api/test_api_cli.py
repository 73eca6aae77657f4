"""``hotline-qa report …`` and ``hotline-qa users …`` against a seeded database."""
from __future__ import annotations

import json

from click.testing import CliRunner
from openpyxl import load_workbook

from qa.cli import main


def _env(app_settings):
    return {"HOTLINE_QA_HOME": str(app_settings.home),
            "HOTLINE_QA_DATABASE_URL": app_settings.database_url}


def test_report_commands(app_settings, tmp_path):
    from qa.settings import get_settings
    get_settings.cache_clear()
    r = CliRunner().invoke(main, ["report", "monthly", "--month", "2026-11", "--format", "xlsx",
                                  "-o", str(tmp_path / "m.xlsx")], env=_env(app_settings))
    assert r.exit_code == 0, r.output
    ws = load_workbook(tmp_path / "m.xlsx").worksheets[0]
    assert ws["F2"].value == "考核等级" and ws.max_row == 7
    get_settings.cache_clear()
    r = CliRunner().invoke(main, ["report", "complaints", "--month", "2026-11", "--format",
                                  "json"], env=_env(app_settings))
    assert r.exit_code == 0 and json.loads(r.output)["complaints"] == 14
    get_settings.cache_clear()
    r = CliRunner().invoke(main, ["report", "weekly", "--week", "2026-W47", "--format", "csv"],
                           env=_env(app_settings))
    assert r.exit_code == 0 and "投诉处理周报" in r.output
    r = CliRunner().invoke(main, ["report", "monthly", "--month", "2026/11"],
                           env=_env(app_settings))
    assert r.exit_code != 0 and "YYYY-MM" in r.output
    r = CliRunner().invoke(main, ["report", "monthly", "--month", "2026-11"],
                           env=_env(app_settings))
    assert r.exit_code != 0 and "-o" in r.output  # xlsx needs a file


def test_users_commands(app_settings):
    from qa.settings import get_settings
    env = _env(app_settings)
    get_settings.cache_clear()
    r = CliRunner().invoke(main, ["users", "add", "qian", "--role", "agent", "--agent-id",
                                  "A3001", "--generate"], env=env)
    assert r.exit_code == 0, r.output
    pw = r.output.strip().splitlines()[-1].split()[-1]
    from api.security import verify_password
    from models import User, session_scope
    with session_scope(app_settings.database_url) as db:
        u = db.query(User).filter_by(username="qian").one()
        assert u.agent_id == "A3001" and verify_password(u.password_hash, pw)
    r = CliRunner().invoke(main, ["users", "passwd", "qian"], input="new-password-9\n", env=env)
    assert r.exit_code == 0, r.output
    with session_scope(app_settings.database_url) as db:
        u = db.query(User).filter_by(username="qian").one()
        assert verify_password(u.password_hash, "new-password-9")
    r = CliRunner().invoke(main, ["users", "add", "qian", "--role", "agent", "--agent-id",
                                  "A3001", "--generate"], env=env)
    assert r.exit_code != 0 and "已存在" in r.output
    r = CliRunner().invoke(main, ["users", "passwd", "nobody", "--generate"], env=env)
    assert r.exit_code != 0 and "不存在" in r.output


def test_first_admin_once(tmp_path):
    from api.cli import first_admin
    from models import upgrade
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    upgrade(url)
    made = first_admin(url)
    assert made and made[0] == "admin" and len(made[1]) >= 12
    assert first_admin(url) is None
