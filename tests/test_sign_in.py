"""Optional sign-in (st.login, OpenID Connect): when `[auth]` is in the secrets, a visitor signs in
first and a workspace opens only for the user who made it, even to someone holding its link."""

import pytest
from streamlit.testing.v1 import AppTest

from icp.data.owners import owner_key, owner_of
from icp.data.workspace import Workspace
from tests.helpers import ROOT
from tests.literal_text import shown

ISSUER = "https://accounts.example.com"
AUTH = {"auth": {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "not-a-real-secret",
                 "client_id": "icp-explorer", "client_secret": "not-a-real-secret",
                 "server_metadata_url": f"{ISSUER}/.well-known/openid-configuration"}}


def visit(user: dict, workspace_id: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.secrets.update(AUTH)
    at.user = user
    if workspace_id:
        at.query_params["ws"] = workspace_id
    return at.run()


def person(name: str) -> dict:
    return {"is_logged_in": True, "iss": ISSUER, "sub": f"{name}-id", "email": f"{name}@example.com"}


@pytest.fixture
def fast_demo(demo_template, monkeypatch):
    monkeypatch.setattr("icp.data.workspace.Workspace.demo_template", staticmethod(lambda folder=None: demo_template))


def test_signed_out_visitors_see_only_the_sign_in_button(fast_demo, workspace_folder):
    at = visit({"is_logged_in": False})
    assert not at.exception
    assert [b.label for b in at.button] == ["Sign in"]
    assert "ws" not in at.query_params
    assert not list(workspace_folder.glob("*.duckdb")), "no workspace is made for a signed-out visitor"


def test_a_workspace_opens_for_its_owner_only(fast_demo, workspace_folder):
    alice = visit(person("alice"))
    assert not alice.exception
    assert any("Signed in as alice@example.com" in shown(c.value) for c in alice.sidebar.caption)
    # Signed in, she reads the shared demo like anyone; her first change makes a copy that is hers.
    assert "ws" not in alice.query_params and not list(workspace_folder.glob("*.duckdb"))
    alice.switch_page("views/success.py").run()
    alice.slider(key="best_share").set_value(50).run()
    assert not alice.exception and not alice.error
    alices = alice.query_params["ws"]
    assert owner_of(Workspace(alices)) == owner_key(ISSUER, "alice-id")

    back = visit(person("alice"), alices)
    assert not back.exception and not back.error
    assert back.query_params["ws"] == alices

    bob = visit(person("bob"), alices)
    assert not bob.exception
    assert [e.value for e in bob.error] == ["No workspace with that link exists here. Open the demo or start a new one."]
    assert not any("Northwind" in m.value for m in [*bob.markdown, *bob.success])


def test_a_new_workspace_belongs_to_whoever_made_it(fast_demo):
    at = visit(person("carol"))
    next(b for b in at.sidebar.button if b.label == "New workspace").click().run()
    made = Workspace(at.query_params["ws"])
    assert made.name == "My workspace"
    assert owner_of(made) == owner_key(ISSUER, "carol-id")
    assert visit(person("dave"), made.id).error


def test_a_secrets_file_that_does_not_parse_stops_the_app_instead_of_failing_open(tmp_path, monkeypatch):
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text("[auth\nclient_id = ", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert len(at.error) == 1 and "secrets file could not be read" in at.error[0].value
    assert "ws" not in at.query_params
