"""colorgen on the same 8 batches as time_official8.py (published settings), JSON of per-batch
seconds: ``colorgen.bench.speed.rotating_seconds``, what `make bench`'s ``rotating_batches`` averages."""
import json

from colorgen.bench import speed
from colorgen.bench.checkout import data_config

batches, _ = speed.load_batches(data_config(), speed.ROTATING_BATCHES)
print(json.dumps({"elements": [int(b.num_nodes) for b in batches]} | speed.rotating_seconds(batches)))
