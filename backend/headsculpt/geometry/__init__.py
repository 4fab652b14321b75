"""The sculpt pipeline's 3D side: a coarse density field, then a DMTet mesh refined from it."""
