"""Semantic codec: shapes, power, NAM, save/load, bad inputs (tiny model built here; no data needed)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vlmcsc.model.channels import apply_channel, noise_std, ofdm_gains
from vlmcsc.model.codec import CodecConfig, CodecNet, SemanticCodec
from vlmcsc.model.nam import NAM
from vlmcsc.model.tokenizer import train_tokenizer

CORPUS = [
    "a dog runs across the green grass .",
    "two children play football in a park .",
    "a man in a red shirt rides a bicycle down the street .",
    "a black cat sleeps on a wooden chair .",
    "people walk along the beach at sunset .",
] * 4


@pytest.fixture(scope="module")
def codec() -> SemanticCodec:
    torch.manual_seed(0)
    tok = train_tokenizer(CORPUS, vocab_size=80)
    cfg = CodecConfig(vocab_size=tok.get_vocab_size(), width=32, heads=4, layers=1, ff=64,
                      symbols_per_token=4, max_tokens=48)
    net = CodecNet(cfg)
    # move the NAM gates away from their near-identity start so SNR dependence is visible
    for m in net.modules():
        if isinstance(m, NAM):
            for lin in m.modules():
                if isinstance(lin, torch.nn.Linear):
                    torch.nn.init.normal_(lin.weight, std=0.5)
    return SemanticCodec(net, tok)


def test_encode_shapes_and_unit_power(codec):
    texts = ["a dog runs", "two children play football in a park ."]
    syms = codec.encode_text(texts, snr_db=[3.0, 12.0])
    assert len(syms) == 2
    for text, s in zip(texts, syms):
        n_tok = len(codec.tokenize([text])[0])
        assert s.dtype == np.complex64 and s.shape == (n_tok * codec.symbols_per_token,)
        assert np.mean(np.abs(s) ** 2) == pytest.approx(1.0, abs=1e-5)


def test_batched_encoding_equals_single(codec):
    # padding in a batch must not leak into another sentence's symbols
    a = codec.encode_text(["a dog runs", "a man in a red shirt rides a bicycle"], 5.0)[0]
    b = codec.encode_text(["a dog runs"], 5.0)[0]
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_decode_returns_one_text_per_frame(codec):
    syms = codec.encode_text(["a dog runs", "a black cat"], 10.0)
    out = codec.decode_symbols(syms, snr_db=[10.0, 2.0])
    assert len(out) == 2 and all(isinstance(t, str) for t in out)
    assert codec.decode_symbols([], 5.0) == [] and codec.encode_text([], 5.0) == []


def test_encoding_depends_on_snr_through_nam(codec):
    a = codec.encode_text(["a dog runs"], 0.0)[0]
    b = codec.encode_text(["a dog runs"], 20.0)[0]
    assert np.max(np.abs(a - b)) > 1e-4


def test_nam_output_depends_on_snr_and_is_gated():
    torch.manual_seed(1)
    nam = NAM(16)
    torch.nn.init.normal_(nam.back.weight, std=0.5)
    g = torch.randn(2, 5, 16)
    lo = nam(g, torch.tensor([0.0, 0.0]))
    hi = nam(g, torch.tensor([20.0, 20.0]))
    assert lo.shape == g.shape
    assert not torch.allclose(lo, hi)
    # v2 gates K = 2 sigmoid(.) in (0, 2) (identity at init, not saturated): |out| < 2 |in|, sign kept
    assert torch.all(lo.abs() <= 2 * g.abs() + 1e-6) and torch.all(lo * g >= 0)
    with pytest.raises(ValueError):
        NAM(0)


def test_save_load_round_trip_bit_exact(codec, tmp_path):
    codec.save_pretrained(tmp_path / "c")
    again = SemanticCodec.from_pretrained(tmp_path / "c")
    texts = ["a dog runs across the grass", "people walk"]
    s1, s2 = codec.encode_text(texts, 4.0), again.encode_text(texts, 4.0)
    for a, b in zip(s1, s2):
        assert np.array_equal(a, b)
    rng = np.random.default_rng(0)
    noisy = [s + 0.3 * (rng.standard_normal(s.size) + 1j * rng.standard_normal(s.size)).astype(np.complex64)
             for s in s1]
    y = torch.zeros(1, 2, codec.config.max_symbols_per_token, dtype=torch.complex64)
    y[0, :, :4] = torch.from_numpy(noisy[0][:8].reshape(2, 4))
    w = torch.zeros(1, 2, codec.config.max_symbols_per_token)
    w[0, :, :4] = 0.7
    pad = torch.zeros(1, 2, dtype=torch.bool)
    assert torch.equal(codec.net.decode(y, w, pad, torch.tensor([4.0])), again.net.decode(y, w, pad, torch.tensor([4.0])))
    assert codec.decode_symbols(noisy, 4.0) == again.decode_symbols(noisy, 4.0)


def test_float16_checkpoint_round_trip_is_stable(codec, tmp_path):
    codec.save_pretrained(tmp_path / "h", dtype="float16")
    once = SemanticCodec.from_pretrained(tmp_path / "h")
    once.save_pretrained(tmp_path / "h2", dtype="float16")
    twice = SemanticCodec.from_pretrained(tmp_path / "h2")
    assert np.array_equal(once.encode_text(["a cat"], 3.0)[0], twice.encode_text(["a cat"], 3.0)[0])


def test_missing_checkpoint_files_raise(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a codec checkpoint"):
        SemanticCodec.from_pretrained(tmp_path)


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_empty_text_is_rejected(codec, text):
    with pytest.raises(ValueError, match="empty"):
        codec.encode_text([text], 5.0)


def test_any_character_round_trips_without_unk(codec):
    # v2 byte-level BPE: no [UNK]; characters never seen in training are spelt in bytes
    assert codec.unk_id is None
    for text in ["a dog ☃", "Ein Mädchen läuft über die Straße", "a giraffe 🦒 — naïve café", "  A  B "]:
        assert codec.normalize(text) == text
        codec.encode_text([text], 5.0, on_unknown="error")  # nothing to refuse


def test_over_long_caption_is_rejected(codec):
    with pytest.raises(ValueError, match="max_tokens"):
        codec.encode_text(["a dog " * 40], 5.0)
    with pytest.raises(ValueError, match="max_tokens"):
        codec.decode_symbols([np.ones(49 * codec.symbols_per_token, np.complex64)], 5.0)


@pytest.mark.parametrize("snr", [float("nan"), float("inf"), [1.0, 2.0]])
def test_bad_snr_is_rejected(codec, snr):
    with pytest.raises(ValueError, match="SNR"):
        codec.encode_text(["a dog"], snr)
    with pytest.raises(ValueError, match="SNR"):
        codec.decode_symbols([np.ones(codec.symbols_per_token, np.complex64)], snr)


def test_bad_symbol_frames_are_rejected(codec):
    s = codec.symbols_per_token
    with pytest.raises(ValueError, match="multiple of symbols_per_token"):
        codec.decode_symbols([np.ones(s + 1, np.complex64)], 5.0)
    with pytest.raises(ValueError, match="non-empty"):
        codec.decode_symbols([np.zeros(0, np.complex64)], 5.0)
    with pytest.raises(TypeError):
        codec.decode_symbols(np.ones(s, np.complex64), 5.0)
    with pytest.raises(TypeError):
        codec.encode_text("a dog", 5.0)
    # NaN/inf symbols (a zero channel estimate upstream) decode to text instead of crashing
    bad = np.full(s, np.nan, np.complex64)
    assert len(codec.decode_symbols([bad], 5.0)) == 1


def test_config_validation():
    with pytest.raises(ValueError, match="divisible"):
        CodecConfig(width=30, heads=4)
    with pytest.raises(ValueError, match="symbols_per_token"):
        CodecConfig(symbols_per_token=0)


def test_channels_follow_es_n0_convention():
    gen = torch.Generator().manual_seed(0)
    x = torch.ones(4, 20000, dtype=torch.complex64)
    snr = torch.tensor([0.0, 10.0, 20.0, 3.0])
    y = apply_channel(x, snr, "awgn", gen)
    var = ((y - x).abs() ** 2).mean(1)
    np.testing.assert_allclose(var.numpy(), 10 ** (-snr.numpy() / 10), rtol=0.05)
    assert noise_std(torch.tensor([10.0])).item() == pytest.approx(10 ** -0.5)
    # OFDM subcarrier gains have unit mean power and differ between symbols
    h = ofdm_gains(2000, 48, gen)
    assert (h.abs() ** 2).mean().item() == pytest.approx(1.0, rel=0.05)
    assert h[0].abs().std() > 0
    # equalised Rayleigh / OFDM at very high SNR give back the symbols
    for kind in ("rayleigh", "ofdm"):
        z = apply_channel(x[:, :96], torch.full((4,), 90.0), kind, gen)
        assert torch.allclose(z, x[:, :96], atol=1e-2)
    with pytest.raises(ValueError, match="unknown channel"):
        apply_channel(x, snr, "rician", gen)


def test_mixed_channel_kinds_are_differentiable():
    x = torch.randn(3, 16, dtype=torch.complex64, requires_grad=True)
    y = apply_channel(x, torch.tensor([5.0, 5.0, 5.0]), ["awgn", "rayleigh", "ofdm"],
                      torch.Generator().manual_seed(0))
    y.abs().sum().backward()
    assert x.grad is not None and torch.all(torch.isfinite(x.grad))


# --------------------------------------------------------------------------------------------
# codec v2 (issue 14): nested rates, per-symbol reliabilities, rate policy, ablation control
def test_nested_rates_prefix_and_power(codec):
    text = ["two children play football in a park ."]
    n_tok = len(codec.tokenize(text)[0])
    by_k = {k: codec.encode_text(text, 5.0, symbols_per_token=k)[0] for k in codec.rates}
    for k, x in by_k.items():
        assert x.shape == (n_tok * k,)
        assert np.mean(np.abs(x) ** 2) == pytest.approx(1.0, abs=1e-5)
    # nested: the k-symbol frame is the first k symbols of every token of the largest frame, up to
    # one power-normalisation factor per frame
    big = by_k[max(codec.rates)].reshape(n_tok, -1)
    for k, x in by_k.items():
        pre = big[:, :k].reshape(-1)
        ratio = x / pre
        np.testing.assert_allclose(ratio, ratio[0], rtol=1e-4)
    with pytest.raises(ValueError, match="not one of"):
        codec.encode_text(text, 5.0, symbols_per_token=5)


def test_decoder_uses_per_symbol_noise_variance(codec):
    syms = codec.encode_text(["a dog runs across the green grass ."], 10.0, symbols_per_token=4)
    y = syms[0]
    net = codec.net
    smax = codec.config.max_symbols_per_token
    n = y.size // 4
    yt = torch.zeros(1, n, smax, dtype=torch.complex64)
    yt[0, :, :4] = torch.from_numpy(y.reshape(n, 4))
    pad = torch.zeros(1, n, dtype=torch.bool)
    w_good = torch.zeros(1, n, smax)
    w_good[..., :4] = 0.99
    w_bad = w_good.clone()
    w_bad[..., :2] = 0.05
    a = net.decode(yt, w_good, pad, torch.tensor([10.0]))
    b = net.decode(yt, w_bad, pad, torch.tensor([10.0]))
    assert (a - b).abs().max() > 1e-4
    # and through the public API: a noise_var per symbol changes the logits' input
    nv = np.full(y.size, 0.1, np.float32)
    out = codec.decode_symbols(syms, 10.0, noise_var=[nv], symbols_per_token=4)
    assert len(out) == 1
    with pytest.raises(ValueError, match="noise_var"):
        codec.decode_symbols(syms, 10.0, noise_var=[nv, nv], symbols_per_token=4)


def test_ablation_control_ignores_snr():
    torch.manual_seed(0)
    tok = train_tokenizer(CORPUS, vocab_size=80)
    cfg = CodecConfig(vocab_size=tok.get_vocab_size(), width=32, heads=4, layers=1, ff=64,
                      symbols_per_token=4, max_tokens=48, snr_input=False)
    c = SemanticCodec(CodecNet(cfg), tok)
    a = c.encode_text(["a dog runs"], 0.0, symbols_per_token=4)[0]
    b = c.encode_text(["a dog runs"], 20.0, symbols_per_token=4)[0]
    np.testing.assert_array_equal(a, b)


def test_rate_policy_and_header_mode(codec, tmp_path):
    import copy

    c = copy.copy(codec)
    c.set_rate_policy({"snr_db": [-5.0, 3.0, 12.0], "symbols_per_token": [16, 8, 3]})
    assert [c.rate_for(s) for s in (-20.0, 0.0, 3.0, 11.9, 12.0, 30.0)] == [16, 16, 8, 8, 3, 3]
    for k in c.rates:
        assert c.rate_from_mode(c.mode_for(k)) == k
        assert 1 <= c.mode_for(k) <= 15
    assert c.rate_from_mode(0) == c.symbols_per_token
    with pytest.raises(ValueError, match="mode"):
        c.rate_from_mode(15)
    syms = c.encode_text(["a dog runs"], 13.0)  # policy -> 3 symbols per token
    assert syms[0].size == 3 * len(c.tokenize(["a dog runs"])[0])
    c.save_pretrained(tmp_path / "p")
    again = SemanticCodec.from_pretrained(tmp_path / "p")
    assert again.rate_policy["symbols_per_token"] == [16, 8, 3]
    with pytest.raises(ValueError, match="rates"):
        c.set_rate_policy({"snr_db": [0.0], "symbols_per_token": [5]})


def test_repetition_rates_are_chase_combined(codec):
    from vlmcsc.model.codec import chase_combine

    smax = codec.config.max_symbols_per_token
    assert codec.rates[-2:] == (smax * 3 // 2, 2 * smax)
    # maximum-ratio combining: precision-weighted mean, precisions add; a lost copy counts nothing
    y = torch.tensor([[1.0 + 0j, 2.0 + 0j, 3.0 + 0j]], dtype=torch.complex64)
    nv = torch.tensor([[1.0, 3.0, float("inf")]])
    yc, nvc = chase_combine(y, nv, 2)  # symbol 0 sent twice (copies 0 and 2), symbol 1 once
    np.testing.assert_allclose(yc.numpy(), [[1.0, 2.0]], rtol=1e-6)
    np.testing.assert_allclose(nvc.numpy(), [[1.0, 3.0]], rtol=1e-6)
    yc, nvc = chase_combine(torch.tensor([[1.0 + 0j, 3.0 + 0j]]), torch.tensor([[1.0, 1.0]]), 1)
    assert complex(yc[0, 0]) == pytest.approx(2.0) and float(nvc[0, 0]) == pytest.approx(0.5)
    # through the API: a 2*smax frame carries each token's symbols twice, at unit power, and
    # decodes exactly as the combined smax-symbol frame with half the noise variance
    text = ["a dog runs across the green grass ."]
    x32 = codec.encode_text(text, 0.0, symbols_per_token=2 * smax)[0]
    n_tok = len(codec.tokenize(text)[0])
    assert x32.shape == (n_tok * 2 * smax,) and np.mean(np.abs(x32) ** 2) == pytest.approx(1.0, abs=1e-5)
    t = x32.reshape(n_tok, 2 * smax)
    np.testing.assert_allclose(t[:, :smax], t[:, smax:], rtol=1e-6)
    rng = np.random.default_rng(0)
    noisy = x32 + 0.3 * (rng.standard_normal(x32.size) + 1j * rng.standard_normal(x32.size)).astype(np.complex64)
    nv = np.full(x32.size, 0.18, np.float32)
    a = codec.decode_symbols([noisy], 5.0, noise_var=[nv], symbols_per_token=2 * smax)
    r = noisy.reshape(n_tok, 2, smax).mean(1).reshape(-1)
    b = codec.decode_symbols([r], 5.0, noise_var=[np.full(r.size, 0.09, np.float32)], symbols_per_token=smax)
    assert a == b


def test_rate_price_picks_the_lagrangian_rate(codec):
    import copy

    c = copy.copy(codec)
    # BLEU-1 per (SNR, rate): at 0 dB every extra symbol buys a lot, at 10 dB almost nothing
    table = {"0.0": {"4": {"bleu1": 0.30}, "8": {"bleu1": 0.50}, "16": {"bleu1": 0.70}},
             "10.0": {"4": {"bleu1": 0.93}, "8": {"bleu1": 0.95}, "16": {"bleu1": 0.96}}}
    c.set_rate_policy({"snr_db": [0.0, 10.0], "symbols_per_token": [16, 8], "table": table})
    assert c.rate_for(12.0) == 8 and c.rate_for(0.0) == 16  # price 0: the quality curve
    assert c.rate_for(12.0, price=0.006) == 4  # 0.005 BLEU-1 per extra symbol: not worth 0.006
    assert c.rate_for(2.0, price=0.006) == 16  # 0.025 BLEU-1 per extra symbol: worth it
    assert c.rate_for(2.0, price=0.06) == 4
    assert c.rate_for(-3.0, price=0.006) == 16  # below the grid: its lowest SNR's row
    with pytest.raises(ValueError, match="price"):
        c.rate_for(5.0, price=-0.1)


def test_closed_loop_price_calibration_meets_the_channel_use_budget():
    from vlmcsc.model.rate_policy import price_for_budget

    # a made-up table: every SNR, BLEU-1 rises with the rate and saturates earlier at high SNR
    table = {}
    for s in range(0, 20, 2):
        table[f"{float(s)}"] = {str(k): {"bleu1": 1.0 - 0.9 * np.exp(-k * (1 + s) / 12.0)} for k in (2, 4, 8, 16)}
    snrs = np.arange(0, 19, 1.0)
    cal = price_for_budget(table, snrs, reference_rate=8, budget=0.6)
    assert cal["bleu1"] >= cal["reference_bleu1"] + cal["margin"]  # quality first: above a fixed 8 symbols/token
    if cal["budget_met"]:
        assert cal["mean_rate"] <= 0.6 * 8
        cheaper = price_for_budget(table, snrs, 8, 0.6, prices=[max(0.0, cal["price"] - 0.0025)])
        assert cal["price"] == 0.0 or cheaper["mean_rate"] > 0.6 * 8  # the smallest such price
    # a budget that costs quality is not bought: the price stops where BLEU-1 would drop
    tight = price_for_budget(table, snrs, reference_rate=8, budget=0.1)
    assert not tight["budget_met"] and tight["bleu1"] >= tight["reference_bleu1"] + tight["margin"]
    pricier = price_for_budget(table, snrs, 8, 0.1, prices=[tight["price"] + 0.0025])
    assert pricier["bleu1"] < tight["reference_bleu1"] + tight["margin"] or pricier["mean_rate"] == tight["mean_rate"]
