"""colorgen on the same 8 batches (colorgen.bench.speed helpers, published settings), JSON like time_official8.py."""
import json, time
import torch
from colorgen.bench import speed
from colorgen.bench.checkout import data_config
from colorgen.decoding import DecodingConfig
from colorgen.models import ContentEncoder
NB = 8
batches, _ = speed.load_batches(data_config(), NB)
def per_batch(fn, ks, reps):
    fn(batches[0]); out = []
    for k in ks:
        ts = []
        for _ in range(reps):
            t = time.perf_counter(); fn(batches[k]); ts.append(time.perf_counter() - t)
        out.append(min(ts))
    return out
res = {"elements": [int(b.num_nodes) for b in batches]}
with speed.torch_threads(2):
    for name, cls in speed.TRAIN_MODELS.items():
        torch.manual_seed(0); m = cls(**speed.PAPER_SIZE).train()
        opt = torch.optim.AdamW(m.parameters(), lr=1e-4)
        def step(b):
            opt.zero_grad(); m.loss(b)["loss"].backward(); opt.step()
        res[name] = per_batch(step, range(NB), 2)
    torch.manual_seed(0); enc = ContentEncoder(speed.PAPER_SIZE["d_model"])
    def enc_step(b):
        enc.zero_grad(); enc(b).sum().backward()
    res["content_encoder_fwd_bwd"] = per_batch(enc_step, range(NB), 2)
    for name, cls in speed.GENERATE_MODELS.items():
        torch.manual_seed(0); m = cls(**speed.PAPER_SIZE).eval(); g = torch.Generator().manual_seed(0)
        def gen(b):
            with torch.no_grad(): m.generate(b, DecodingConfig(), g)
        res[name] = per_batch(gen, range(NB) if name != "generate_ar_greedy" else range(2), 1)
print(json.dumps(res))
