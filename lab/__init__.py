"""The lab command, `python -m lab`: every MODE x workload measured on real servers."""
