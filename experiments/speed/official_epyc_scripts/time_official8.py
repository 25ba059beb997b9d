"""The OFFICIAL WebColor code (08ee68b + R1) timed on 8 batches of 32 consecutive training pages of
colorgen's data=webpages (as training sees shapes change), paper size, AdamW, 2 threads. Runs in the
official code's environment (the fixture's README), from a work folder whose data/ holds colorgen's
webcolor_webpages.hdf5 as webcolor_v1.1.hdf5 and a split file whose train list is the first 256
training pages. JSON out, per batch: the fastest of 2 training steps (s), one generation call (s)."""
import json, statistics, sys, time
import torch, dgl
from webcolor.data.dataset import WebColorDataset
from webcolor.lightning.generator import AR, CVAE, NAR
from webcolor.lightning.upsampler import Upsampler
from webcolor.models.utils import make_batch_mask
torch.set_num_threads(2)
ds = WebColorDataset("train")
NB = 8
def fresh(k):  # the content encoder pops node features: a new batched graph per call, made untimed
    return dgl.batch([ds[i] for i in range(32 * k, 32 * k + 32)])
def per_batch(fn, batches, reps):
    fn(fresh(0)); out = []
    for k in batches:
        ts = []
        for _ in range(reps):
            b = fresh(k); t = time.perf_counter(); fn(b); ts.append(time.perf_counter() - t)
        out.append(min(ts))
    return out
res = {"elements": [int(fresh(k).num_nodes()) for k in range(NB)], "longest": [int(max(ds[i].num_nodes() for i in range(32 * k, 32 * k + 32))) for k in range(NB)]}
for name, cls in (("nar", NAR), ("cvae", CVAE), ("ar", AR), ("upsampler", Upsampler)):
    torch.manual_seed(0); m = cls(); m.log = lambda *a, **k: None; m.train()
    opt = torch.optim.AdamW(m.parameters(), lr=1e-4)
    def step(b):
        opt.zero_grad(); m.training_step(b, 0).backward(); opt.step()
    res[f"train_step_{name}"] = per_batch(step, range(NB), 2)
torch.manual_seed(0); enc = NAR().model.content_encoder
def enc_step(b):
    enc.zero_grad(); enc(b).sum().backward()
res["content_encoder_fwd_bwd"] = per_batch(enc_step, range(NB), 2)
for name, cls, batches in (("nar", NAR, range(NB)), ("cvae", CVAE, range(NB)), ("ar_greedy", AR, range(2))):
    torch.manual_seed(0); m = cls(); m.eval()
    def gen(b):
        with torch.no_grad(): m.model.generate(b, make_batch_mask(b))
    res[f"generate_{name}"] = per_batch(gen, batches, 1)
print(json.dumps(res))
