"""Our online-softmax tiled attention forward kernel in Triton (the FlashAttention idea).

Imported only where Triton is installed (`flash_attention.triton_available()`); set
TRITON_INTERPRET=1 before importing to run it on CPU tensors (the tests do).

One program computes BLOCK_M query rows of one (batch, head). It streams K and V in blocks of
BLOCK_N keys and keeps, per row, the running maximum m, the running sum l of exp(s - m) and the
unnormalized output acc; when a new block raises the maximum, the old l and acc are rescaled by
exp(m_old - m_new) (registry formula `online-softmax`). The n x n scores never leave on-chip
memory, so the extra memory is O (n d) plus one log-sum-exp per row: linear in n.
N_CTX is a compile-time constant (one compile per sequence length, as in Triton's own fused
attention tutorial); it also keeps the loop bound a plain int for the CPU interpreter.
"""

from __future__ import annotations

import triton
import triton.language as tl

LOG2E = 1.4426950408889634


@triton.jit
def _attn_fwd(Q, K, V, Out, LSE,
              s_qb, s_qh, s_qm, s_qd, s_kb, s_kh, s_kn, s_kd,
              s_vb, s_vh, s_vn, s_vd, s_ob, s_oh, s_om, s_od,
              H, qk_scale, N_CTX: tl.constexpr,
              BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, HEAD_DIM: tl.constexpr,
              EVEN_N: tl.constexpr):
    start_m = tl.program_id(0)
    off_bh = tl.program_id(1)
    off_b = off_bh // H
    off_h = off_bh % H
    offs_m = start_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, HEAD_DIM)
    q_ptrs = Q + off_b * s_qb + off_h * s_qh + offs_m[:, None] * s_qm + offs_d[None, :] * s_qd
    k_base = K + off_b * s_kb + off_h * s_kh
    v_base = V + off_b * s_vb + off_h * s_vh
    row_ok = offs_m[:, None] < N_CTX
    q = tl.load(q_ptrs, mask=row_ok, other=0.0)
    m_i = tl.full([BLOCK_M], float("-inf"), dtype=tl.float32)
    l_i = tl.zeros([BLOCK_M], dtype=tl.float32)
    acc = tl.zeros([BLOCK_M, HEAD_DIM], dtype=tl.float32)
    for start_n in range(0, N_CTX, BLOCK_N):
        cols = start_n + offs_n
        k_ptrs = k_base + cols[:, None] * s_kn + offs_d[None, :] * s_kd
        v_ptrs = v_base + cols[:, None] * s_vn + offs_d[None, :] * s_vd
        if EVEN_N:
            k = tl.load(k_ptrs)
            v = tl.load(v_ptrs)
        else:
            k = tl.load(k_ptrs, mask=cols[:, None] < N_CTX, other=0.0)
            v = tl.load(v_ptrs, mask=cols[:, None] < N_CTX, other=0.0)
        # scores in log2 units: exp(x) = exp2(x * log2 e), folded into qk_scale
        s = tl.dot(q, tl.trans(k)) * qk_scale
        if not EVEN_N:
            s = tl.where(cols[None, :] < N_CTX, s, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(s, 1))
        p = tl.math.exp2(s - m_new[:, None])
        alpha = tl.math.exp2(m_i - m_new)  # rescales what was accumulated under the old max
        l_i = l_i * alpha + tl.sum(p, 1)
        acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v)
        m_i = m_new
    acc = acc / l_i[:, None]
    o_ptrs = Out + off_b * s_ob + off_h * s_oh + offs_m[:, None] * s_om + offs_d[None, :] * s_od
    tl.store(o_ptrs, acc.to(Out.dtype.element_ty), mask=row_ok)
    tl.store(LSE + off_bh * N_CTX + offs_m, m_i + tl.math.log2(l_i), mask=offs_m < N_CTX)


def attention_forward(q, k, v, *, block_m: int = 128, block_n: int = 64, num_warps: int = 8,
                      num_stages: int = 3, poison: bool = False):
    """softmax(Q K^T / sqrt(d)) V for (B, H, n, d) tensors; returns (O, log2-sum-exp per row)."""
    import torch

    b, h, n, d = q.shape
    if d not in (16, 32, 64, 128, 256):
        raise ValueError(f"head dim {d}: the kernel needs a power of two in 16..256")
    out = torch.full_like(q, float("nan")) if poison else torch.empty_like(q)
    lse = torch.empty((b * h, n), dtype=torch.float32, device=q.device)
    grid = (triton.cdiv(n, block_m), b * h)
    _attn_fwd[grid](q, k, v, out, lse, *q.stride(), *k.stride(), *v.stride(), *out.stride(),
                    h, (d ** -0.5) * LOG2E, N_CTX=n,
                    BLOCK_M=block_m, BLOCK_N=block_n, HEAD_DIM=d, EVEN_N=(n % block_n == 0),
                    num_warps=num_warps, num_stages=num_stages)
    return out, lse
