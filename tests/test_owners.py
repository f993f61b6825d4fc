"""Sign-in on: a workspace belongs to the user who made it; anyone else gets 'not found'."""

import pytest

from icp.data.owners import claim, open_as, owner_key, owner_of
from icp.data.workspace import Workspace
from icp.errors import WorkspaceNotFound
from icp.paths import new_workspace_id

ALICE = owner_key("https://accounts.example.com", "alice-123")
BOB = owner_key("https://accounts.example.com", "bob-456")


def test_owner_key_is_a_digest_not_the_identity():
    assert len(ALICE) == 64 and "alice" not in ALICE
    assert ALICE != BOB
    assert owner_key("https://other-issuer.example", "alice-123") != ALICE
    assert owner_key("https://accounts.example.com", "alice-123") == ALICE


def test_only_the_owner_opens_a_claimed_workspace():
    mine = claim(Workspace.create("Alice's"), ALICE)
    assert owner_of(mine) == ALICE
    assert open_as(mine.id, ALICE).name == "Alice's"
    with pytest.raises(WorkspaceNotFound) as refused:
        open_as(mine.id, BOB)
    with pytest.raises(WorkspaceNotFound) as missing:
        open_as(new_workspace_id(), BOB)
    # A stranger cannot tell a workspace that exists from one that does not.
    assert str(refused.value) == str(missing.value)


def test_sign_in_off_opens_by_link_and_unowned_workspaces_stay_closed_to_signed_in_users():
    unowned = Workspace.create("before sign-in")
    assert owner_of(unowned) is None
    assert open_as(unowned.id, None).id == unowned.id
    with pytest.raises(WorkspaceNotFound):
        open_as(unowned.id, ALICE)
