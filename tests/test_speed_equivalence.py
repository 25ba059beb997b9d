"""Speed-ups keep the function: packed (padding-free) vs padded Transformers give the same outputs.

Eval mode (no dropout), fp32; pages of very different lengths so that padding is most of the
padded layout. Training-mode losses must match too once dropout is off.
"""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Batch

from colorgen.data.batching import Packing, packing, to_dense
from colorgen.decoding import DecodingConfig
from colorgen.models import AR, CVAE, NAR, ColorUpsampler
from colorgen.models.base import ground_truth_colors
from graph_fixtures import mixed_batch, random_page

SIZE = {"d_model": 32, "n_layers": 2, "n_heads": 4, "d_ff": 64, "dropout": 0.0}


def uneven_batch(seed: int = 0) -> Batch:
    g = torch.Generator().manual_seed(seed)
    return Batch.from_data_list([random_page(n, g, f"p{i}") for i, n in enumerate((1, 40, 3, 17, 9))])


def pair(cls: type, **kwargs):
    torch.manual_seed(0)
    packed = cls(**SIZE, packed=True, **kwargs).eval()
    padded = cls(**SIZE, packed=False, **kwargs).eval()
    padded.load_state_dict(packed.state_dict())
    return packed, padded


def test_packing_round_trip_matches_to_dense() -> None:
    batch = uneven_batch()
    pk = packing(batch)
    values = torch.randn(batch.num_nodes, 3)
    dense, mask = to_dense(batch, values)
    torch.testing.assert_close(pk.pad(values), dense)
    assert torch.equal(pk.mask, mask)
    torch.testing.assert_close(pk.unpad(dense), values)
    assert pk.positions.tolist()[:5] == [0, 0, 1, 2, 3]  # a 1-element page, then a 40-element one
    # attention groups: every element in exactly one padded slot, gather inverts the slots
    assert 1 < len(pk.groups) <= 4
    slots = torch.cat([g.slots for g in pk.groups])
    assert torch.equal(slots[pk.gather], torch.arange(batch.num_nodes))
    assert int((slots < batch.num_nodes).sum()) == batch.num_nodes
    area = sum(g.key_padding_mask.numel() for g in pk.groups)
    assert area < pk.mask.numel()  # less padding than one [B, L] layout
    assert len(Packing.from_batch(batch.batch, batch.num_graphs, max_groups=1).groups) == 1
    empty = Packing.from_batch(torch.zeros(0, dtype=torch.long), 0)
    assert empty.mask.shape == (0, 0)


@pytest.mark.parametrize("make", [uneven_batch, mixed_batch], ids=["uneven", "mixed"])
@pytest.mark.parametrize("cls", [NAR, AR, CVAE], ids=lambda c: c.__name__)
def test_generator_logits_and_losses_equal_padded(cls: type, make) -> None:
    batch = make()
    packed, padded = pair(cls)
    with torch.no_grad():
        if cls is CVAE:  # its forward samples z: compare the posterior and a fixed-z decode
            content = packed.content_encoder(batch)
            for a, b in zip(packed.posterior(batch, content), padded.posterior(batch, content), strict=True):
                torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
            z = torch.randn(content.shape)
            pairs = zip(packed.decode(batch, content, z), padded.decode(batch, content, z), strict=True)
        else:
            pairs = zip(packed.forward_logits(batch), padded.forward_logits(batch), strict=True)
        for a, b in pairs:
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    if cls is not CVAE:
        torch.testing.assert_close(packed.loss(batch)["loss"], padded.loss(batch)["loss"], rtol=1e-5, atol=1e-6)


def test_upsampler_residuals_and_gradients_equal_padded() -> None:
    batch = uneven_batch(1)
    packed, padded = pair(ColorUpsampler)
    colors = ground_truth_colors(batch)
    for a, b in zip(packed(batch, colors), padded(batch, colors), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    grads = []
    for model in (packed, padded):
        model.zero_grad()
        model.loss(batch)["loss"].backward()
        grads.append({n: p.grad for n, p in model.named_parameters() if p.grad is not None})
    assert grads[0].keys() == grads[1].keys()
    for name in grads[0]:
        torch.testing.assert_close(grads[0][name], grads[1][name], rtol=1e-4, atol=1e-6, msg=name)


def test_ar_generation_is_unchanged_by_packing() -> None:
    batch = uneven_batch(2)
    packed, padded = pair(AR)
    a = packed.generate(batch, DecodingConfig())
    b = padded.generate(batch, DecodingConfig())
    for x, y in zip(a, b, strict=True):
        assert torch.equal(x, y)


def test_packed_training_is_deterministic_with_a_seed() -> None:
    batch = uneven_batch(3)
    losses = []
    for _ in range(2):
        torch.manual_seed(0)
        model = NAR(**{**SIZE, "dropout": 0.1}).train()
        torch.manual_seed(1)
        losses.append(model.loss(batch)["loss"])
    assert torch.equal(losses[0], losses[1])


def test_greedy_decoding_that_drops_finished_pages_equals_the_full_batch_loop() -> None:
    batch = uneven_batch(4)
    torch.manual_seed(0)
    model = AR(**SIZE).eval()
    with torch.no_grad():
        fast_colors, fast_logits = model.decode(batch, DecodingConfig(), incremental=True)
        full_colors, full_logits = model.decode(batch, DecodingConfig(), incremental=False)
    for a, b in zip(fast_colors, full_colors, strict=True):
        assert torch.equal(a, b)
    for a, b in zip(fast_logits, full_logits, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    assert fast_colors.bg_rgb.shape == (batch.num_nodes,)


def test_prefix_decoder_steps_equal_the_padded_cached_decoder() -> None:
    """Bucketed memory (pages 40 | 17, 9 | 3 | 1 with ratio 0.5) and prefix caches give the
    padded decoder's outputs on every active page at every step."""
    from colorgen.models.transformer import PrefixDecoder

    torch.manual_seed(0)
    decoder = AR(**SIZE).eval().transformer.decoder
    lengths = [40, 17, 9, 3, 1]
    memory = torch.randn(len(lengths), max(lengths), SIZE["d_model"])
    pad = torch.arange(max(lengths))[None, :] >= torch.tensor(lengths)[:, None]
    inputs = torch.randn(len(lengths), max(lengths), SIZE["d_model"])
    with torch.no_grad():
        fast = PrefixDecoder(decoder, memory, lengths)
        assert fast.buckets == [(0, 1), (1, 3), (3, 4), (4, 5)]
        cache = decoder.init_cache(memory)
        for i in range(max(lengths)):
            want = decoder.step(inputs[:, i : i + 1], cache, pad[:, : i + 1], pad)[:, 0]
            k = sum(n > i for n in lengths)
            torch.testing.assert_close(fast.step(inputs[:k, i], i), want[:k], rtol=1e-5, atol=1e-5)
        with pytest.raises(ValueError, match="longest first"):
            PrefixDecoder(decoder, memory, lengths[::-1])
    with pytest.raises(RuntimeError, match="eval mode"):
        PrefixDecoder(decoder.train(), memory, lengths)


def _linear_step(fast, x: torch.Tensor, i: int) -> torch.Tensor:
    """:meth:`PrefixDecoder.step` written with the layers' own ``F.linear`` calls (the code before its
    weights were held as transposed views), on ``fast``'s caches."""
    import torch.nn.functional as F

    k, d = x.shape
    rows, dh, h = k * fast.heads, fast.d_head, fast.heads
    for n, layer in enumerate(fast.decoder.layers):
        sa, ca = layer.self_attn, layer.multihead_attn
        q, key, value = F.linear(layer.norm1(x), sa.in_proj_weight, sa.in_proj_bias).view(k, 3, h, dh).unbind(1)
        fast.self_k[n][:rows, i] = key.reshape(rows, dh)
        fast.self_v[n][:rows, i] = value.reshape(rows, dh)
        o = fast._attend(q.reshape(rows, 1, dh), fast.self_k[n][:rows, : i + 1].transpose(1, 2),
                         fast.self_v[n][:rows, : i + 1], None)
        x = x + F.linear(o.view(k, d), sa.out_proj.weight, sa.out_proj.bias)
        q = F.linear(layer.norm2(x), ca.in_proj_weight[:d], ca.in_proj_bias[:d]).view(rows, 1, dh)
        outs = []
        for (s, e), kt, v, mask in zip(fast.buckets, fast.mem_kt[n], fast.mem_v[n], fast.mem_mask, strict=True):
            if s < k:
                m = (min(e, k) - s) * h
                outs.append(fast._attend(q[s * h : s * h + m], kt[:m], v[:m], None if mask is None else mask[:m]))
        x = x + F.linear(torch.cat(outs).view(k, d), ca.out_proj.weight, ca.out_proj.bias)
        x = x + F.linear(F.relu(F.linear(layer.norm3(x), layer.linear1.weight, layer.linear1.bias)),
                         layer.linear2.weight, layer.linear2.bias)
    return fast.decoder.norm(x)


def test_prefix_decoder_step_is_the_linear_layers_bit_for_bit() -> None:
    """The step's transposed weight views and direct ``addmm`` calls are the products ``F.linear``
    runs: the same numbers, not just close ones (README, Performance), in one bucket and in several."""
    from colorgen.models.transformer import PrefixDecoder

    torch.manual_seed(1)
    decoder = AR(**SIZE).eval().transformer.decoder
    lengths = [30, 12, 11, 2]
    memory = torch.randn(len(lengths), max(lengths), SIZE["d_model"])
    inputs = torch.randn(len(lengths), max(lengths), SIZE["d_model"])
    with torch.no_grad():
        fast, slow = PrefixDecoder(decoder, memory, lengths), PrefixDecoder(decoder, memory, lengths)
        assert len(fast.buckets) > 1
        for i in range(max(lengths)):
            k = sum(n > i for n in lengths)
            assert torch.equal(fast.step(inputs[:k, i], i), _linear_step(slow, inputs[:k, i], i)), i


# ---------------------------------------------------------------- the speed bench's plumbing
# (no timing is asserted: only that each figure is set beside its official reference)


def test_speed_bench_reports_figures_against_the_official_references(tmp_path) -> None:
    from colorgen.bench.speed import REFERENCES, format_table, load_batch, load_batches, run
    from webcolor_fixtures import write_fixture_dataset

    cfg = write_fixture_dataset(tmp_path, n_pages=60, max_elements=12)
    cfg.pop("pages")
    batch, source = load_batch(cfg, pages=4)
    assert source.startswith("real:") and batch.num_graphs == 4
    batches, _ = load_batches(cfg, 3, pages=4)
    assert [b.page_id for b in batches[:1]] == [batch.page_id] and len({tuple(b.page_id) for b in batches}) == 3
    _, source = load_batch({**cfg, "root": str(tmp_path / "missing")}, pages=4)
    assert source.startswith("synthetic (real data unavailable")

    from test_bench_machine import XEON

    result = run(None, threads=1, repeats=1, only=("content_encoder_fwd_bwd", "generate_ar_greedy"), cpuinfo=XEON)
    assert result["pages"].startswith("synthetic")
    for name, row in result["figures"].items():
        ref = REFERENCES[name]
        assert row["official"] == ref.official and row["colorgen"] > 0
        want = row["colorgen"] / ref.official if ref.higher_is_better else ref.official / row["colorgen"]
        assert row["ratio_vs_official"] == pytest.approx(want)
        assert row["met"] == (row["colorgen"] >= ref.target if ref.higher_is_better else row["colorgen"] <= ref.target)
    table = format_table(result)
    assert "| content_encoder_fwd_bwd (s) | 0.225 |" in table and "2026-11-27" in table
    with pytest.raises(ValueError, match="unknown figure"):
        run(None, threads=1, repeats=1, only=("nonsense",))
    fast = run(None, threads=1, repeats=1, bf16=True, only=("train_step_upsampler",), dropout_rng="bits")
    assert fast["dropout_rng"] == "bits" and fast["precision"] == "bf16 autocast"
    assert set(fast["bf16_loss_change"]) == {n for n in REFERENCES if n.startswith("train_step_")}
    assert "dropout masks: bits" in format_table(fast)


@pytest.mark.parametrize("causal", [False, True])
def test_math_attention_is_sdpa_with_dropout_bit_for_bit(causal: bool) -> None:
    """Same outputs, gradients and random draws as F.scaled_dot_product_attention(dropout_p=p)."""
    from colorgen.models.transformer import attention_with_dropout

    b, h, length, dh = 4, 2, 23, 48  # a head size where d ** -0.25 and SDPA's sqrt(1 / sqrt(d)) differ
    q, k, v = (torch.randn(b, h, length, dh, requires_grad=True) for _ in range(3))
    lengths = torch.tensor([length, 1, 7, 16])
    mask = (torch.arange(length)[None, :] < lengths[:, None])[:, None, None, :]
    if causal:
        mask = mask & torch.ones(length, length, dtype=torch.bool).tril()[None, None]
    grad_out = torch.randn(b, h, length, dh)
    runs = []
    for attend in (lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=0.3),
                   lambda: attention_with_dropout(q, k, v, mask, 0.3)):
        torch.manual_seed(5)
        out = attend()
        out.backward(grad_out)
        runs.append([out.detach().clone(), q.grad.clone(), k.grad.clone(), v.grad.clone(), torch.rand(3)])
        q.grad = k.grad = v.grad = None
    for sdpa, ours in zip(*runs, strict=True):
        assert torch.equal(sdpa, ours)
    assert runs[0][0].eq(0).any()  # dropout did drop


def test_training_steps_are_the_same_with_or_without_math_attention(monkeypatch: pytest.MonkeyPatch) -> None:
    from colorgen.models import transformer

    batch = uneven_batch()
    size = {**SIZE, "dropout": 0.2}
    losses, weights = [], []
    for math in (False, True):
        monkeypatch.setattr(transformer, "MATH_ATTENTION", math)
        torch.manual_seed(0)
        model = AR(**size).train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        run = []
        for _ in range(3):
            opt.zero_grad()
            loss = model.loss(batch)["loss"]
            loss.backward()
            opt.step()
            run.append(loss.item())
        losses.append(run)
        weights.append([p.detach().clone() for p in model.parameters()])
    assert losses[0] == losses[1]
    assert all(torch.equal(a, c) for a, c in zip(*weights, strict=True))
