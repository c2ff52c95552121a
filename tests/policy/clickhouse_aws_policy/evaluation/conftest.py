"""Property tests here run the same examples on every run (a failure is reproducible, never one run in ten), with no
deadline (a loaded CI machine is not a bug) and no example database written into the checkout."""

from hypothesis import settings

settings.register_profile("evaluators", deadline=None, derandomize=True, database=None, max_examples=200)
settings.load_profile("evaluators")
