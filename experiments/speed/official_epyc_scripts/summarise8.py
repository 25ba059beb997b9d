"""time_official8 / time_colorgen8 JSON files (comma-separated runs) -> the markdown table of official_epyc_2026-12-03.md."""
import json, statistics, sys
off = [json.load(open(f)) for f in sys.argv[1].split(",")]
cg = [json.load(open(f)) for f in sys.argv[2].split(",")]
keys = [("train_step_nar", "s"), ("train_step_cvae", "s"), ("train_step_ar", "s"), ("train_step_upsampler", "s"),
        ("content_encoder_fwd_bwd", "s"), ("generate_nar", "pages/s"), ("generate_cvae", "pages/s"), ("generate_ar_greedy", "pages/s")]
print("| figure | batch 1 (longest page 195): official | colorgen | x official | 8 batches, mean step: official | colorgen | x official |")
print("|---|---|---|---|---|---|---|")
for k, unit in keys:
    o = [statistics.mean(x) for x in zip(*(r[k] for r in off))]  # per batch, mean over runs
    c = [statistics.mean(x) for x in zip(*(r[k] for r in cg))]
    if unit == "s":
        b0 = (o[0], c[0], o[0] / c[0]); mo, mc = statistics.mean(o), statistics.mean(c); allr = (mo, mc, mo / mc)
        f = lambda v: f"{v:.3g}"
    else:  # generation: pages/s from seconds per 32-page batch
        b0 = (32 / o[0], 32 / c[0], o[0] / c[0]); mo, mc = statistics.mean(o), statistics.mean(c)
        allr = (32 / mo, 32 / mc, mo / mc); f = lambda v: f"{v:.3g}"
    n = f" ({len(o)} batches)" if len(o) != 8 else ""
    print(f"| {k} ({unit}){n} | {f(b0[0])} | {f(b0[1])} | {b0[2]:.2f}x | {f(allr[0])} | {f(allr[1])} | {allr[2]:.2f}x |")
