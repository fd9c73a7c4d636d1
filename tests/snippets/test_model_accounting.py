"""snippets/model_accounting.py against parameters, FLOPs and bytes counted on real torch modules."""

from __future__ import annotations

import pytest

from deckforge_snippets import model_accounting as M

torch = pytest.importorskip("torch")
nn = torch.nn


def _count(module, matrices_only=False):
    return sum(p.numel() for p in module.parameters() if not matrices_only or p.dim() >= 2)


class _Block(nn.Module):
    """A bias-free Transformer layer with an attention width d_attn different from d."""

    def __init__(self, d, d_attn, d_ff):
        super().__init__()
        self.q, self.k, self.v = (nn.Linear(d, d_attn, bias=False) for _ in range(3))
        self.o = nn.Linear(d_attn, d, bias=False)
        self.ff = nn.Sequential(nn.Linear(d, d_ff, bias=False), nn.ReLU(), nn.Linear(d_ff, d, bias=False))


def test_param_count_matches_a_custom_block():
    d, d_attn, d_ff, n_layer = 48, 32, 100, 3
    model = nn.ModuleList(_Block(d, d_attn, d_ff) for _ in range(n_layer))
    assert _count(model) == M.transformer_params(n_layer, d, d_attn, d_ff)


def test_param_count_matches_torch_transformer_layer():
    d, n_layer = 256, 2
    layer = nn.TransformerEncoderLayer(d, nhead=4, dim_feedforward=4 * d)
    enc = nn.TransformerEncoder(layer, n_layer, enable_nested_tensor=False)
    assert _count(enc, matrices_only=True) == M.transformer_params(n_layer, d) == 12 * n_layer * d * d
    # Biases and LayerNorms are the "approximately": under 1% at this (small) width.
    assert _count(enc) == pytest.approx(12 * n_layer * d * d, rel=0.01)
    # The card's example: ~80 layers for a 178B model means d ~ 13.6k (GPT-3: 96 x 12288).
    assert M.width_for(178e9, 80) == pytest.approx(13_617, rel=1e-3)
    assert M.transformer_params(96, 12288) == pytest.approx(175e9, rel=0.01)


def test_training_flops_match_flop_counter():
    from torch.utils.flop_counter import FlopCounterMode

    tokens, dims = 32, [20, 64, 64, 10]
    mlp = nn.Sequential(*(nn.Linear(a, b, bias=False) for a, b in zip(dims, dims[1:], strict=False)))
    n = _count(mlp)
    x = torch.randn(tokens, dims[0], requires_grad=True)  # so layer 1's dL/dX is computed too
    with FlopCounterMode(display=False) as fwd:
        out = mlp(x)
    assert fwd.get_total_flops() == M.forward_flops(n, tokens)
    with FlopCounterMode(display=False) as bwd:
        out.square().sum().backward()
    assert bwd.get_total_flops() == M.backward_flops(n, tokens)
    assert fwd.get_total_flops() + bwd.get_total_flops() == M.training_flops(n, tokens) == 6 * n * tokens


def test_adam_memory_matches_allocated_tensors():
    model = nn.Sequential(nn.Linear(30, 40), nn.ReLU(), nn.Linear(40, 5))
    opt = torch.optim.Adam(model.parameters())
    model(torch.randn(8, 30)).sum().backward()
    opt.step()
    params = list(model.parameters())
    allocated = sum(p.nbytes + p.grad.nbytes for p in params) + sum(
        opt.state[p][key].nbytes for p in params for key in ("exp_avg", "exp_avg_sq")
    )
    n = _count(model)
    assert allocated == M.training_memory_bytes(n) == 16 * n


def test_cruncher_counts_match_torch():
    d, layers, batch = 16, 3, 5
    model = nn.Sequential(*(nn.Linear(d, d, bias=False) for _ in range(layers)), nn.Linear(d, 1, bias=False))
    acts = []
    for layer in list(model)[:-1]:
        layer.register_forward_hook(lambda _m, _i, out: acts.append(out))
    model(torch.randn(batch, d)).sum().backward()
    counts = M.cruncher_counts(d, layers, batch)
    assert counts["parameters"] == _count(model)
    assert counts["activations"] == sum(a.numel() for a in acts)
    assert counts["gradients"] == sum(p.grad.numel() for p in model.parameters())
    opt = torch.optim.Adagrad(model.parameters())
    opt.step()
    states = sum(opt.state[p]["sum"].numel() for p in model.parameters())
    assert states == counts["parameters"]  # "optimizer states = num_parameters" (AdaGrad)
    total = M.training_memory_bytes(counts["parameters"], counts["activations"], 1)
    assert total == 4 * (3 * counts["parameters"] + counts["activations"])


class _LM(nn.Module):
    def __init__(self, vocab, d, tied):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.out = nn.Linear(d, vocab, bias=False)
        if tied:
            self.out.weight = self.emb.weight


def test_tied_embeddings_save_vd():
    vocab, d = 1000, 32
    untied, tied = _count(_LM(vocab, d, False)), _count(_LM(vocab, d, True))
    assert untied == M.embedding_params(vocab, d, tied=False) == 2 * vocab * d
    assert tied == M.embedding_params(vocab, d, tied=True)
    assert untied - tied == M.tying_savings(vocab, d) == vocab * d
    # Independent of depth (quiz 7 Q3b).
    assert M.tying_savings(vocab, d, n_layers=2) == M.tying_savings(vocab, d, n_layers=40)
