"""How a CSV is read, the same way everywhere.

- ``csv_reader``: delimiter detection, ``read_csv`` (training, predict, scoring), formula
  neutralisation of what is written back.
- ``columnar``: one streaming pass over a file (exact per-column facts and a bounded sample) for
  Profile.
"""
