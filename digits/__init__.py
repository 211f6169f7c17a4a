"""MNIST digits outside the server: the data set's files, and digits drawn as pen strokes.

Used by train.py, the tests, the benchmarks and the lab command; never by a worker.
"""
