"""The app's secret key: refused when it is a placeholder, else generated once and kept."""
import stat

import pytest

from qa.settings import Settings, resolve_secret_key


@pytest.mark.parametrize("key", ["changeme", "Secret", "short-key"])
def test_an_unsafe_configured_key_is_refused(tmp_path, key):
    with pytest.raises(ValueError, match="不安全"):
        resolve_secret_key(Settings(home=tmp_path, secret_key=key))


def test_a_generated_key_is_kept_private_and_reused(tmp_path):
    s = Settings(home=tmp_path / "home", secret_key=None)
    first = resolve_secret_key(s)
    path = tmp_path / "home" / "secret_key"
    assert len(first) >= 32 and path.read_text().strip() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert resolve_secret_key(s) == first
    assert resolve_secret_key(Settings(home=tmp_path, secret_key="k" * 32)) == "k" * 32
