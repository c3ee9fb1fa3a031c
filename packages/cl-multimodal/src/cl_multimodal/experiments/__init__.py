"""One module per experiment: each trains a method and its baseline on the same data and returns
their metrics side by side. ``cl-bench`` rows and the tests call these."""
