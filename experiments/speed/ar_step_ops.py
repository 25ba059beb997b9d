"""Issue 12: why an AR decoding step costs what it costs. The 24 linear layers of a one-page step alone,
then interleaved with the small ops a step also runs (layer norm, attention on a 195-key cache).
Run: PYTHONPATH=src python experiments/speed/ar_step_ops.py (see ar_generation_floor_2026-12-03.md)."""
import torch, time
import torch.nn.functional as F
torch.set_num_threads(2)
shapes=[(768,256),(256,256),(256,256),(256,256),(512,256),(256,512)]*4
Ws=[(torch.randn(o,i),torch.randn(o)) for o,i in shapes]
x=torch.randn(1,256); x2=torch.randn(1,512)
lnw=torch.ones(256); lnb=torch.zeros(256)
q=torch.randn(8,1,32); kt=torch.randn(8,32,195); v=torch.randn(8,195,32)
def run(extra):
    for W,b in Ws:
        y = F.linear(x if W.shape[1]==256 else x2,W,b)
        if extra:
            F.layer_norm(x,(256,),lnw,lnb)
            torch.bmm(torch.softmax(torch.bmm(q,kt),-1),v)
for extra in [False, True, False, True]:
    for _ in range(50): run(extra)
    t=time.perf_counter()
    for _ in range(300): run(extra)
    dt=(time.perf_counter()-t)/300
    # time extras alone
    print('extra' if extra else 'plain', '%.3f ms per 24'%(dt*1e3))
t=time.perf_counter()
for _ in range(300*24):
    F.layer_norm(x,(256,),lnw,lnb); torch.bmm(torch.softmax(torch.bmm(q,kt),-1),v)
print('extras alone per 24: %.3f ms'%((time.perf_counter()-t)/300*1e3))
