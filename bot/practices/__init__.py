"""The practice catalogue: data files, their validation, the search and the answer cards."""
