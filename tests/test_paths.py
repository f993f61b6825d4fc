"""Workspace ids are unguessable and checked before they touch a path."""

import math

import pytest

from icp.errors import WorkspaceNotFound
from icp.paths import check_workspace_id, data_dir, new_workspace_id, workspace_file


def test_ids_carry_at_least_128_random_bits_and_differ():
    ids = {new_workspace_id() for _ in range(1000)}
    assert len(ids) == 1000
    sample = next(iter(ids))
    assert len(sample) * math.log2(64) >= 128


@pytest.mark.parametrize("bad", [
    "", "abc", "../" + "a" * 29, "a" * 31 + "/", "a" * 31 + ".", "a" * 33, "a" * 31 + "\x00", None, 12,
    "..%2F" + "a" * 27, "a" * 16 + "\\" + "a" * 15,
])
def test_anything_but_a_real_id_is_refused(bad):
    with pytest.raises(WorkspaceNotFound):
        check_workspace_id(bad)


def test_workspace_files_stay_inside_the_data_folder(workspace_folder):
    workspace_id = new_workspace_id()
    path = workspace_file(workspace_id)
    assert path.parent == workspace_folder == data_dir()
    assert path.name == f"{workspace_id}.duckdb"
