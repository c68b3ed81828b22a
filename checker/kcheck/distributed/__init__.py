"""Distributed explicit-state search (spec/distributed.md): `kcheck verify --workers N` and
`--ray ADDRESS`. Partitions of the visited set live in worker processes (Ray actors, or objects
of this process for tests); the driver runs the same breadth-first search as explore/bfs.py,
level by level. Ray is optional (`pip install 'kcheck[distributed]'`) and imported only when a
search asks for it."""
