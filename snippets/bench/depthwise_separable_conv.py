"""Standard 3x3 convolution vs depthwise-separable (depthwise 3x3 + pointwise 1x1).

Counts (registry `conv-macs`, `dsc-macs`, `dsc-params`): a k x k convolution of C_in -> C_out
channels over an H x W output does H W C_in C_out k^2 MACs; depthwise-separable does
H W C_in k^2 + H W C_in C_out, a factor 1/C_out + 1/k^2 of it. The depthwise part has almost
no reuse (intensity ~ k^2 / bytes per element), so time falls less than MACs do.
"""

from __future__ import annotations

from deckforge.bench.result import CaseInfo, Column, Outcome, Plot

from ._util import randn

CASE = CaseInfo(
    id="depthwise-separable-conv",
    title="Standard vs depthwise-separable convolution",
    formulas=("conv-macs", "dsc-macs", "dsc-params", "conv-storage"),
    concepts=("depthwise-separable-conv", "convolution"),
    claim="Depthwise-separable convolutions save compute and parameters: about 1/C_out + 1/k^2 "
          "of a standard convolution's MACs.",
    measures=("conv-macs", "dsc-macs"),
    claim_terms=(
        ("depthwise",),
        ("separable", "dsc"),
        ("sav", "fewer", "reduc", "cheaper", "1/m", "1/k", "ratio", "macs", "compute"),
    ),
)

K = 3


def conv_macs(n, c_in, c_out, h, w, k=K) -> float:
    return float(n * h * w * c_in * c_out * k * k)


def dsc_macs(n, c_in, c_out, h, w, k=K) -> float:
    return float(n * h * w * c_in * k * k + n * h * w * c_in * c_out)


def run(ctx) -> Outcome:
    import torch
    import torch.nn.functional as F

    torch.backends.cudnn.benchmark = True
    n, hw = ctx.pick((2, 8), (32, 56))
    rows = []
    for c in ctx.pick((8, 16), (64, 128, 256, 512)):
        x = randn((n, c, hw, hw), device=ctx.device, seed=1).contiguous(memory_format=torch.channels_last)
        w_std = randn((c, c, K, K), device=ctx.device, seed=2, scale=0.05).contiguous(memory_format=torch.channels_last)
        w_dw = randn((c, 1, K, K), device=ctx.device, seed=3, scale=0.3).contiguous(memory_format=torch.channels_last)
        w_pw = randn((c, c, 1, 1), device=ctx.device, seed=4, scale=0.05).contiguous(memory_format=torch.channels_last)

        def standard(x=x, w_std=w_std):
            return F.conv2d(x, w_std, padding=1)

        def separable(x=x, w_dw=w_dw, w_pw=w_pw, c=c):
            return F.conv2d(F.conv2d(x, w_dw, padding=1, groups=c), w_pw)

        t_std, t_dsc = ctx.time(standard), ctx.time(separable)
        m_std, m_dsc = conv_macs(n, c, c, hw, hw), dsc_macs(n, c, c, hw, hw)
        rows.append({"c": c, "ms_standard": t_std.median_ms, "ms_separable": t_dsc.median_ms,
                     "gmac_standard": m_std / 1e9, "gmac_separable": m_dsc / 1e9,
                     "mac_ratio": m_dsc / m_std, "time_ratio": t_dsc.median_ms / t_std.median_ms,
                     "params_standard": c * c * K * K, "params_separable": c * K * K + c * c,
                     "tflops_standard": 2 * m_std / (t_std.median_ms / 1e3) / 1e12,
                     "tflops_separable": 2 * m_dsc / (t_dsc.median_ms / 1e3) / 1e12})
        del x
    columns = (Column("c", "channels (in = out)"), Column("ms_standard", "standard 3x3", "ms"),
               Column("ms_separable", "depthwise 3x3 + pointwise 1x1", "ms"),
               Column("gmac_standard", "standard MACs", "GMAC"), Column("gmac_separable", "separable MACs", "GMAC"),
               Column("mac_ratio", "MAC ratio separable / standard"),
               Column("time_ratio", "time ratio separable / standard"),
               Column("params_standard", "standard parameters"), Column("params_separable", "separable parameters"),
               Column("tflops_standard", "standard throughput", "TFLOP/s"),
               Column("tflops_separable", "separable throughput", "TFLOP/s"))
    plots = (Plot("Convolution time", "c", ("ms_standard", "ms_separable"), "channels", "ms",
                  logx=True, logy=True),
             Plot("Savings: MACs vs time", "c", ("mac_ratio", "time_ratio"), "channels",
                  "separable / standard", logx=True, logy=True))
    params = {"batch": n, "height": hw, "width": hw, "kernel": K, "dtype": "bfloat16",
              "layout": "channels_last", "cudnn_benchmark": True}
    if not ctx.is_cuda:
        return Outcome("not-run", "Tiny CPU run: both convolutions ran; timings need CUDA.",
                       columns, tuple(rows), plots, params)
    big = rows[-1]
    saves_time = all(r["time_ratio"] < 1 for r in rows)
    tracks = all(r["time_ratio"] < 2 * r["mac_ratio"] for r in rows)
    verdict = "supports" if saves_time and tracks else ("partly" if any(r["time_ratio"] < 1 for r in rows)
                                                         else "contradicts")
    summary = (f"At C={big['c']} depthwise-separable needed {big['mac_ratio']:.1%} of the MACs and took "
               f"{big['time_ratio']:.1%} of the time ({big['ms_separable']:.3g} vs {big['ms_standard']:.3g} ms); "
               f"at C={rows[0]['c']} it was {rows[0]['mac_ratio']:.1%} of the MACs but "
               f"{rows[0]['time_ratio']:.1%} of the time: the depthwise part runs at "
               f"{big['tflops_separable']:.0f} TFLOP/s against {big['tflops_standard']:.0f}.")
    return Outcome(verdict, summary, columns, tuple(rows), plots, params)
