"""Generators and the upsampler: training signal, overfitting, checkpoints, AR cache, configs."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch import nn
from torch_geometric.data import Batch

from colorgen.data.batching import packing
from colorgen.decoding import DecodingConfig
from colorgen.models import AR, CVAE, NAR, Colors, ColorUpsampler, Stats
from colorgen.models.base import ground_truth_colors, target_classes
from colorgen.models.transformer import Decoder, Encoder
from graph_fixtures import mixed_batch, random_page, single_node_batch

CONF = Path(__file__).resolve().parents[1] / "conf" / "model"
TINY = {"d_model": 32, "n_layers": 2, "n_heads": 4, "d_ff": 64}
NEURAL = {"ar": AR, "nar": NAR, "cvae": CVAE, "upsampler": ColorUpsampler}
GENERATORS = {"ar": AR, "nar": NAR, "cvae": CVAE}


def build(name: str, seed: int = 0, **kw: Any) -> nn.Module:
    torch.manual_seed(seed)
    return NEURAL[name](**{**TINY, **kw})


@pytest.mark.parametrize("name", NEURAL)
def test_forward_backward_reaches_every_used_parameter(name: str) -> None:
    model = build(name)
    out = model.loss(mixed_batch())
    assert torch.isfinite(out["loss"]) and out["loss"].ndim == 0
    out["loss"].backward()
    unused = {n for n, p in model.named_parameters() if p.grad is None}
    assert unused == {
        n for n, _ in model.named_parameters() if n.startswith("content_encoder.mlp_down")
    }
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


@pytest.mark.parametrize("name", NEURAL)
def test_single_node_pages(name: str) -> None:
    model = build(name).eval()
    batch = single_node_batch()
    assert torch.isfinite(model.loss(batch)["loss"])
    if name == "upsampler":
        text, bg = model.residuals(batch, ground_truth_colors(batch))
        assert text.shape == bg.shape == (3, 4)
    else:
        assert all(c.shape == (3,) for c in model.generate(batch))


@pytest.mark.parametrize("name", NEURAL)
def test_overfits_a_handful_of_pages(name: str) -> None:
    g = torch.Generator().manual_seed(1)
    batch = Batch.from_data_list([random_page(n, g) for n in (6, 9, 4, 8)])
    model = build(name, dropout=0.0, **({"kl_weight": 0.01} if name == "cvae" else {})).train()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    first = None
    for _ in range(120):
        opt.zero_grad()
        loss = model.loss(batch)["loss"]
        loss.backward()
        opt.step()
        first = float(loss.detach()) if first is None else first
    assert float(loss) < 0.2 * first, (first, float(loss))
    if name in GENERATORS:  # the generator reproduces the memorised colours
        model.eval()
        colors = model.generate(batch)
        rgb_t, _ = target_classes(batch)
        pred = torch.cat([colors.text_rgb[batch.has_text], colors.bg_rgb])
        assert float((pred == rgb_t).float().mean()) > 0.8


@pytest.mark.parametrize("name", NEURAL)
def test_state_dict_round_trip_gives_identical_outputs(name: str) -> None:
    batch = mixed_batch(seed=2)
    model = build(name, seed=0).eval()
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    buf.seek(0)
    clone = build(name, seed=123).eval()
    clone.load_state_dict(torch.load(buf, weights_only=True))
    if name == "upsampler":
        colors = ground_truth_colors(batch)
        for a, b in zip(
            model.residuals(batch, colors), clone.residuals(batch, colors), strict=True
        ):
            assert torch.equal(a, b)
        return
    cfg = DecodingConfig(top_p=0.9)
    a = model.generate(batch, cfg, torch.Generator().manual_seed(7))
    b = clone.generate(batch, cfg, torch.Generator().manual_seed(7))
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def _ar_with_nonzero_padding() -> tuple[AR, Batch]:
    model = build("ar", seed=4).eval()
    return model, mixed_batch(seed=5)  # page sizes 7..25: plenty of padding in the dense view


def test_ar_incremental_logits_equal_full_pass_with_padding() -> None:
    model, batch = _ar_with_nonzero_padding()
    with torch.no_grad():
        full = model.teacher_forcing_logits(batch)
        gt = ground_truth_colors(batch)
        _, inc = model.decode(batch, DecodingConfig(), incremental=True, forced=gt)
        _, rec = model.decode(batch, DecodingConfig(), incremental=False, forced=gt)
    for f, i, r in zip(full, inc, rec, strict=True):
        torch.testing.assert_close(i, f, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(r, f, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "cfg", [DecodingConfig(), DecodingConfig(top_p=0.9), DecodingConfig(top_k=5, top_p=1.0)]
)
def test_ar_incremental_generation_equals_full_recompute(cfg: DecodingConfig) -> None:
    model, batch = _ar_with_nonzero_padding()
    with torch.no_grad():
        inc, inc_logits = model.decode(
            batch, cfg, torch.Generator().manual_seed(0), incremental=True
        )
        rec, rec_logits = model.decode(
            batch, cfg, torch.Generator().manual_seed(0), incremental=False
        )
    assert all(torch.equal(a, b) for a, b in zip(inc, rec, strict=True))
    for a, b in zip(inc_logits, rec_logits, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
    # what it fed back matters: the logits differ from teacher forcing on ground truth
    tf = model.teacher_forcing_logits(batch)
    assert not torch.allclose(tf.bg_rgb, inc_logits.bg_rgb, atol=1e-3)


def test_ar_generation_respects_the_switch() -> None:
    model, batch = _ar_with_nonzero_padding()
    a = model.generate(batch)
    model.incremental = False
    b = model.generate(batch)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def test_cvae_generation_uses_the_passed_generator() -> None:
    model = build("cvae").eval()
    batch = mixed_batch()
    a = model.generate(batch, generator=torch.Generator().manual_seed(0))
    b = model.generate(batch, generator=torch.Generator().manual_seed(0))
    c = model.generate(batch, generator=torch.Generator().manual_seed(1))
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not all(torch.equal(x, y) for x, y in zip(a, c, strict=True))


def test_cvae_kl_term_is_weighted() -> None:
    batch = mixed_batch()
    out = build("cvae", kl_weight=0.5).loss(batch)
    torch.testing.assert_close(out["loss"], out["loss_ce"] + 0.5 * out["loss_kl"])
    assert float(out["loss_kl"]) > 0


def test_cvae_free_bits_floor_each_dimension() -> None:
    """Below the floor a dimension's KL costs the floor (no gradient towards collapse); above, itself."""
    batch = mixed_batch()
    torch.manual_seed(0)
    model = build("cvae", kl_weight=1.0, free_bits=0.0)
    torch.manual_seed(1)
    plain = model.loss(batch)
    model.free_bits = 1e3  # every dimension below the floor
    torch.manual_seed(1)
    floored = model.loss(batch)
    d = model.fc_mu.out_features
    torch.testing.assert_close(floored["loss_kl"], plain["loss_kl"])
    torch.testing.assert_close(floored["loss"], floored["loss_ce"] + torch.tensor(1e3 * d))
    w = model.fc_logvar.weight
    (grad_total,) = torch.autograd.grad(floored["loss"], w, retain_graph=True)
    (grad_ce,) = torch.autograd.grad(floored["loss_ce"], w)
    torch.testing.assert_close(grad_total, grad_ce)  # the floored KL adds no pull
    with pytest.raises(ValueError, match="free_bits"):
        build("cvae", free_bits=-0.1)


def test_upsampler_residuals_lie_in_unit_interval_and_depend_on_colours() -> None:
    model = build("upsampler").eval()
    batch = mixed_batch()
    gt = ground_truth_colors(batch)
    text, bg = model.residuals(batch, gt)
    assert text.shape == bg.shape == (batch.num_nodes, 4)
    assert float(text.min()) >= 0 and float(text.max()) <= 1
    other = Colors(gt.text_rgb, gt.text_alpha, (gt.bg_rgb + 100) % 512, gt.bg_alpha)
    assert not torch.allclose(model.residuals(batch, other)[1], bg)


# ------------------------------------------------------------------ Stats


def _tiny_stats_batch() -> Batch:
    g = torch.Generator().manual_seed(0)
    pages = [random_page(3, g), random_page(2, g)]
    for p, (tags, bg, text, has_text) in zip(
        pages,
        [
            ([5, 5, 7], [10, 10, 11], [3, 4, 3], [True, False, True]),
            ([5, 7], [11, 11], [0, 4], [False, True]),
        ],
        strict=True,
    ):
        p.tag, p.bg_rgb, p.text_rgb = torch.tensor(tags), torch.tensor(bg), torch.tensor(text)
        p.has_text = torch.tensor(has_text)
    return Batch.from_data_list(pages)


def test_stats_counts_text_on_text_elements_and_bg_on_all() -> None:
    batch = _tiny_stats_batch()
    stats = Stats().fit([batch, batch])  # two passes over the same batch double the counts
    assert int(stats.freq_bg_rgb[5, 10]) == 4 and int(stats.freq_bg_rgb[5, 11]) == 2
    assert int(stats.freq_bg_rgb[7, 11]) == 4
    assert (
        int(stats.freq_text_rgb[5, 3]) == 2 and int(stats.freq_text_rgb[5].sum()) == 2
    )  # tag 5 text only once
    assert int(stats.freq_text_rgb[7, 3]) == 2 and int(stats.freq_text_rgb[7, 4]) == 2
    assert int(stats.freq_bg_alpha.sum()) == 2 * batch.num_nodes


def test_stats_mode_sampling_and_unseen_tag_fallback() -> None:
    stats = Stats().fit([_tiny_stats_batch()])
    query = _tiny_stats_batch()
    query.tag = torch.tensor([5, 7, 99, 5, 99])  # 99: never seen -> global histogram
    mode = stats.generate(query, DecodingConfig())
    # tag 5: bg 10 x2, 11 x1; tag 7: 11 x2; global: 10 x2, 11 x3
    assert mode.bg_rgb.tolist() == [10, 11, 11, 10, 11]
    samples = [
        stats.generate(query, DecodingConfig(top_p=1.0), torch.Generator().manual_seed(s)).bg_rgb
        for s in range(50)
    ]
    seen = set(torch.stack(samples)[:, 0].tolist())
    assert seen == {10, 11}  # tag 5 backgrounds only
    again = stats.generate(query, DecodingConfig(top_p=1.0), torch.Generator().manual_seed(0))
    assert torch.equal(again.bg_rgb, samples[0])


def test_stats_state_dict_round_trip_and_unfitted_error() -> None:
    stats = Stats().fit([mixed_batch()])
    clone = Stats()
    with pytest.raises(RuntimeError):
        clone.generate(mixed_batch())
    clone.load_state_dict(stats.state_dict())
    a, b = stats.generate(mixed_batch()), clone.generate(mixed_batch())
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


# ------------------------------------------------------------------ configs and layers


@pytest.mark.parametrize("name", ["stats", "ar", "nar", "cvae", "upsampler"])
def test_model_yaml_instantiates_with_size_group(name: str) -> None:
    from hydra import compose, initialize_config_dir

    sizes = ["size.d_model=16", "size.n_layers=1", "size.n_heads=2", "size.d_ff=32", "size.dropout=0.0"]
    with initialize_config_dir(config_dir=str(CONF.parent), version_base="1.3"):
        root = compose("train", [f"model={name}", *sizes])
    assert root.model.name == name
    cfg = OmegaConf.to_container(root.model, resolve=True)
    cfg.pop("name")
    model = instantiate(cfg, _convert_="all")
    if name == "stats":
        assert isinstance(model, Stats)
        return
    assert model.content_encoder.embed_tag.weight.shape == (114, 16)
    assert model.content_encoder.share_updown_mlp and model.content_encoder.residual
    assert (
        len(
            model.transformer.layers
            if hasattr(model.transformer, "layers")
            else model.transformer.encoder.layers
        )
        == 1
    )


def test_layers_match_pytorch_pre_norm_transformer() -> None:
    """Our layers load nn.Transformer(norm_first=True) weights and give the same outputs."""
    torch.manual_seed(0)
    d, h, ff, n = 32, 4, 64, 2
    enc, dec = Encoder(d, h, n, ff, 0.1).eval(), Decoder(d, h, n, ff, 0.1).eval()
    ref = nn.Transformer(d, h, n, n, ff, 0.1, batch_first=True, norm_first=True).eval()
    enc.load_state_dict(ref.encoder.state_dict())
    dec.load_state_dict(ref.decoder.state_dict())
    src, tgt = torch.randn(3, 7, d), torch.randn(3, 7, d)
    pad = torch.zeros(3, 7, dtype=torch.bool)
    pad[1, 5:] = True
    pad[2, 2:] = True
    causal = nn.Transformer.generate_square_subsequent_mask(7)
    with torch.no_grad():
        mem_ref = ref.encoder(src, src_key_padding_mask=pad)
        out_ref = ref.decoder(
            tgt, mem_ref, tgt_mask=causal, tgt_key_padding_mask=pad, memory_key_padding_mask=pad
        )
        mem = enc(src, key_padding_mask=pad)
        out = dec(tgt, mem, causal=True, tgt_key_padding_mask=pad, memory_key_padding_mask=pad)
    real = ~pad
    torch.testing.assert_close(mem[real], mem_ref[real], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(out[real], out_ref[real], rtol=1e-4, atol=1e-5)


# -------------------------------------------------------------- official defaults and switches


def test_final_norm_switch_adds_exactly_the_previous_layer_norm() -> None:
    """final_norm=False (official) drops only transformer.norm; True gives the pre-issue-11 model."""
    batch = mixed_batch()
    for name in ("nar", "upsampler"):
        official, previous = build(name), build(name, final_norm=True)
        assert not any(k.startswith("transformer.norm") for k in official.state_dict())
        extra = set(previous.state_dict()) - set(official.state_dict())
        assert extra == {"transformer.norm.weight", "transformer.norm.bias"}
        for k, v in official.state_dict().items():  # same seed, same draws: the norm consumes no RNG
            assert torch.equal(v, previous.state_dict()[k]), k
    nar, nar_norm = build("nar").eval(), build("nar", final_norm=True).eval()
    with torch.no_grad():
        nar_norm.transformer.norm.weight.uniform_(0.5, 1.5)
        nar_norm.transformer.norm.bias.uniform_(-0.5, 0.5)
        pk = packing(batch)  # the default, padding-free layout (same function as the padded one)
        hidden = nar.transformer.packed(nar.positional_encoding.packed(nar.content_encoder(batch), pk), pk)
        want = nar_norm.style_decoder(nar_norm.transformer.norm(hidden))
        got = nar_norm.logits(batch)
    for a, b in zip(got, want, strict=True):
        assert torch.equal(a, b)


def test_encoder_without_final_norm_matches_pytorch_transformer_encoder() -> None:
    """The official NAR / upsampler stack: nn.TransformerEncoder(norm_first layers) with no norm."""
    torch.manual_seed(0)
    d, h, ff, n = 32, 4, 64, 2
    layer = nn.TransformerEncoderLayer(d, h, ff, 0.1, batch_first=True, norm_first=True)
    ref = nn.TransformerEncoder(layer, n, enable_nested_tensor=False).eval()
    enc = Encoder(d, h, n, ff, 0.1, final_norm=False).eval()
    enc.load_state_dict(ref.state_dict())  # strict: same keys, no norm on either side
    src = torch.randn(2, 6, d)
    pad = torch.zeros(2, 6, dtype=torch.bool)
    pad[1, 4:] = True
    with torch.no_grad():
        torch.testing.assert_close(enc(src, pad)[~pad], ref(src, src_key_padding_mask=pad)[~pad],
                                   rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["ar", "cvae"])
def test_transformer_init_switch(name: str) -> None:
    """xavier (official, as nn.Transformer) re-draws every matrix; layer keeps the layers' own init."""
    d, ff = TINY["d_model"], TINY["d_ff"]
    xavier, layer = build(name), build(name, transformer_init="layer")
    for model, bound in ((xavier, (6 / (d + ff)) ** 0.5), (layer, 1 / d**0.5)):
        w = model.transformer.encoder.layers[0].linear1.weight  # [ff, d]
        assert float(w.abs().max()) <= bound
        assert float(w.abs().max()) > 0.9 * bound
    for k, v in xavier.content_encoder.state_dict().items():  # built before the transformer
        assert torch.equal(v, layer.content_encoder.state_dict()[k]), k
    with pytest.raises(ValueError, match="transformer init"):
        build(name, transformer_init="kaiming")


def test_checkpoint_from_before_the_switch_keeps_its_final_norm(tmp_path: Path) -> None:
    from colorgen.training.checkpoint import load_model, save_checkpoint

    old = build("nar", final_norm=True).eval()
    cfg = {"name": "nar", "_target_": "colorgen.models.NAR", **TINY}  # no final_norm key: an old config
    save_checkpoint(tmp_path / "old.pt", {"config": {"model": cfg}, "model": old.state_dict(), "step": 1})
    loaded, _ = load_model(tmp_path / "old.pt")
    batch = mixed_batch()
    with torch.no_grad():
        for a, b in zip(loaded.logits(batch), old.logits(batch), strict=True):
            assert torch.equal(a, b)


@pytest.mark.parametrize("name", NEURAL)
def test_model_yaml_defaults_are_official(name: str) -> None:
    cfg = OmegaConf.load(CONF / f"{name}.yaml")
    if name in ("nar", "upsampler"):
        assert cfg.final_norm is False
    else:
        assert cfg.transformer_init == "xavier"


@pytest.mark.parametrize("name", NEURAL)
def test_the_contrast_model_attributes_are_no_model_input(name: str) -> None:
    """Font size and weight, boxes, ``behind``, ``bg_layer``, ``stack`` and the opacities are for the
    contrast model only (README, Data): changing them changes no model's output."""
    model = build(name).eval()
    batch = mixed_batch(seed=3)
    g = torch.Generator().manual_seed(3)
    n = batch.num_nodes
    other = batch.clone()
    other.font_size = 40 * torch.rand(n, generator=g)
    other.font_weight = torch.randint(100, 900, (n,), generator=g)
    other.box = 300 * torch.rand(n, 4, generator=g)
    other.behind = torch.full((n,), -1, dtype=torch.long)
    other.bg_layer = torch.rand(n, generator=g) < 0.5
    other.stack = torch.randint(-1, 4, (n, 16), generator=g)
    other.opacity, other.text_opacity = torch.rand(n, generator=g), torch.rand(n, generator=g)
    with torch.no_grad():
        if name == "upsampler":
            colors = ground_truth_colors(batch)
            outs = [model.residuals(b, colors) for b in (batch, other)]
        else:  # the CVAE draws z: the same draws for both
            outs = [(torch.manual_seed(0), model.forward_logits(b))[1] for b in (batch, other)]
    assert all(torch.equal(a, b) for a, b in zip(*outs, strict=True))
