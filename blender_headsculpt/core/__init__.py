"""The add-on's parts that do not import bpy: talking to the backend, following a job,
starting a local backend, and the plain data and rules the panel shows.

Nothing in this package may import ``bpy`` (tests/test_addon_core.py imports it with
bpy blocked): it runs in the backend's Python in tests, and on worker threads in
Blender, where touching bpy data is not allowed.
"""
