"""Reading and keeping the user's lists: files, roles, normalization, the workspace."""
