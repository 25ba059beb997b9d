"""The level-wise content encoder against the node-by-node reference, and its switches."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Batch

from colorgen.models.content_encoder import ContentEncoder, tree_levels
from graph_fixtures import (
    chain_page,
    mixed_batch,
    random_page,
    reference_content_encoding,
    single_node_batch,
)

SWITCHES = [
    {},
    {"share_updown_mlp": False},
    {"residual": False},
    {"message_passing": False},
]


@pytest.mark.parametrize(
    "switches", SWITCHES, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()) or "published"
)
@pytest.mark.parametrize("make", [mixed_batch, single_node_batch], ids=["mixed", "single_nodes"])
def test_vectorised_matches_reference(switches: dict, make) -> None:
    torch.manual_seed(0)
    enc = ContentEncoder(32, **switches)
    batch = make()
    got = enc(batch)
    want = reference_content_encoding(enc, batch)
    assert got.shape == (batch.num_nodes, 32)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_gradients_match_reference() -> None:
    torch.manual_seed(1)
    enc = ContentEncoder(16, share_updown_mlp=False)
    batch = mixed_batch(seed=3)
    weights = torch.randn(batch.num_nodes, 16)
    grads = []
    for fn in (enc, lambda b: reference_content_encoding(enc, b)):
        enc.zero_grad()
        (fn(batch) * weights).sum().backward()
        grads.append({n: p.grad.clone() for n, p in enc.named_parameters() if p.grad is not None})
    assert grads[0].keys() == grads[1].keys()
    for name in grads[0]:
        torch.testing.assert_close(grads[0][name], grads[1][name], rtol=1e-4, atol=1e-5, msg=name)


def test_deep_chain_of_200_elements() -> None:
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    batch = Batch.from_data_list([chain_page(200, g), random_page(50, g)])
    enc = ContentEncoder(8)
    assert tree_levels(batch.edge_index, batch.depth, batch.num_nodes).num_levels == 200
    torch.testing.assert_close(
        enc(batch), reference_content_encoding(enc, batch), rtol=1e-5, atol=1e-5
    )


def test_pages_do_not_leak_into_each_other() -> None:
    torch.manual_seed(0)
    enc = ContentEncoder(16)
    g = torch.Generator().manual_seed(5)
    pages = [random_page(n, g, f"p{n}") for n in (1, 9, 30)]
    together = enc(Batch.from_data_list(pages))
    alone = torch.cat([enc(Batch.from_data_list([p])) for p in pages])
    torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-6)


def test_tree_context_changes_the_output() -> None:
    """Message passing is not a no-op: re-parenting one node changes other nodes' vectors."""
    torch.manual_seed(0)
    enc = ContentEncoder(16)
    g = torch.Generator().manual_seed(0)
    a = random_page(6, g)
    b = a.clone()
    b.edge_index = torch.tensor([[1, 2, 3, 4, 5], [0, 0, 0, 0, 0]])
    b.depth = torch.tensor([0, 1, 1, 1, 1, 1])
    assert not torch.allclose(enc(Batch.from_data_list([a]))[0], enc(Batch.from_data_list([b]))[0])
    no_mp = ContentEncoder(16, message_passing=False)
    no_mp.load_state_dict(enc.state_dict())
    torch.testing.assert_close(
        no_mp(Batch.from_data_list([a])), enc.embed(Batch.from_data_list([a]))
    )


def test_published_layout_and_shared_mlp() -> None:
    enc = ContentEncoder(32)
    state = enc.state_dict()
    assert state["embed_order.weight"].shape == (200, 32)
    assert state["embed_tag.weight"].shape == (114, 32)
    assert state["embed_text.weight"].shape == (32, 12)
    assert state["embed_img.weight"].shape == (32, 13)
    assert state["embed_bgimg.weight"].shape == (32, 13)
    assert state["h_leaf"].shape == state["h_root"].shape == (1, 32)
    assert "mlp_down.0.weight" in state  # exists so published checkpoints load
    enc(mixed_batch()).sum().backward()
    assert all(p.grad is None for p in enc.mlp_down.parameters())  # published: unused
    separate = ContentEncoder(32, share_updown_mlp=False)
    separate(mixed_batch()).sum().backward()
    assert all(p.grad is not None for p in separate.mlp_down.parameters())


def test_both_ablations_at_once_is_an_error() -> None:
    with pytest.raises(ValueError):
        ContentEncoder(8, message_passing=False, residual=False)
