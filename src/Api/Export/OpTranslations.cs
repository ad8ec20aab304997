namespace Autograd.Api.Export;

/// <summary>The libraries a job can be exported to.</summary>
public enum ExportLanguage { PyTorch, RTorch, Jax, Scipy }

/// <summary>
/// How each function of the formula language is spelt in each target library, keyed by the registry's names and the
/// argument count ("min/1" is the reduction, "min/2" the elementwise minimum); <c>{0}</c>, <c>{1}</c>, ... are the
/// arguments. A template matches the registry's convention at kinks (abs'(0) = 0, relu'(0) = 0, ties sharing the
/// gradient, clamp's gradient going to x at a bound) where the library's op does. A function without an entry is refused.
/// The scipy scripts differentiate by the complex step (see <see cref="ScipyPrelude"/>), so its entries must accept
/// complex arguments; the helpers with a leading underscore are defined there.
/// </summary>
public static class OpTranslations
{
    public static readonly IReadOnlyDictionary<string, string> PyTorch = new Dictionary<string, string>
    {
        ["exp/1"] = "torch.exp({0})", ["log/1"] = "torch.log({0})", ["sqrt/1"] = "torch.sqrt({0})", ["abs/1"] = "torch.abs({0})",
        ["sin/1"] = "torch.sin({0})", ["cos/1"] = "torch.cos({0})", ["tan/1"] = "torch.tan({0})", ["tanh/1"] = "torch.tanh({0})",
        ["sigmoid/1"] = "torch.sigmoid({0})", ["relu/1"] = "torch.relu({0})",
        // logaddexp(x, 0) is log(1 + e^x) without overflow and without softplus's threshold of 20.
        ["softplus/1"] = "torch.logaddexp({0}, torch.zeros_like({0}))",
        ["square/1"] = "torch.square({0})", ["atan/1"] = "torch.atan({0})", ["asin/1"] = "torch.asin({0})", ["acos/1"] = "torch.acos({0})",
        ["sinh/1"] = "torch.sinh({0})", ["cosh/1"] = "torch.cosh({0})", ["asinh/1"] = "torch.asinh({0})", ["acosh/1"] = "torch.acosh({0})",
        ["atanh/1"] = "torch.atanh({0})", ["log1p/1"] = "torch.log1p({0})", ["expm1/1"] = "torch.expm1({0})", ["log2/1"] = "torch.log2({0})",
        ["log10/1"] = "torch.log10({0})", ["erf/1"] = "torch.erf({0})",
        ["pow/2"] = "torch.pow({0}, {1})", ["min/2"] = "torch.minimum({0}, {1})", ["max/2"] = "torch.maximum({0}, {1})",
        ["atan2/2"] = "torch.atan2({0}, {1})", ["hypot/2"] = "torch.hypot({0}, {1})",
        ["sum/1"] = "torch.sum({0})", ["mean/1"] = "torch.mean({0})", ["dot/2"] = "torch.sum({0} * {1})",
        ["min/1"] = "torch.min({0})", ["max/1"] = "torch.max({0})", ["prod/1"] = "torch.prod({0})",
        ["logsumexp/1"] = "torch.logsumexp({0}, 0)", ["cumsum/1"] = "torch.cumsum({0}, 0)", ["diff/1"] = "torch.diff({0})",
        ["clamp/3"] = "torch.clamp({0}, {1}, {2})", ["length/1"] = "float({0}.numel())",
        ["seq_along/1"] = "torch.arange(1, {0}.numel() + 1, dtype=torch.float64)",
    };

    public static readonly IReadOnlyDictionary<string, string> RTorch = new Dictionary<string, string>
    {
        ["exp/1"] = "torch_exp({0})", ["log/1"] = "torch_log({0})", ["sqrt/1"] = "torch_sqrt({0})", ["abs/1"] = "torch_abs({0})",
        ["sin/1"] = "torch_sin({0})", ["cos/1"] = "torch_cos({0})", ["tan/1"] = "torch_tan({0})", ["tanh/1"] = "torch_tanh({0})",
        ["sigmoid/1"] = "torch_sigmoid({0})", ["relu/1"] = "torch_relu({0})",
        ["softplus/1"] = "torch_logaddexp({0}, torch_zeros_like({0}))",
        ["square/1"] = "torch_square({0})", ["atan/1"] = "torch_atan({0})", ["asin/1"] = "torch_asin({0})", ["acos/1"] = "torch_acos({0})",
        ["sinh/1"] = "torch_sinh({0})", ["cosh/1"] = "torch_cosh({0})", ["asinh/1"] = "torch_asinh({0})", ["acosh/1"] = "torch_acosh({0})",
        ["atanh/1"] = "torch_atanh({0})", ["log1p/1"] = "torch_log1p({0})", ["expm1/1"] = "torch_expm1({0})", ["log2/1"] = "torch_log2({0})",
        ["log10/1"] = "torch_log10({0})", ["erf/1"] = "torch_erf({0})",
        ["pow/2"] = "torch_pow({0}, {1})", ["min/2"] = "torch_minimum({0}, {1})", ["max/2"] = "torch_maximum({0}, {1})",
        ["atan2/2"] = "torch_atan2({0}, {1})", ["hypot/2"] = "torch_hypot({0}, {1})",
        ["sum/1"] = "torch_sum({0})", ["mean/1"] = "torch_mean({0})", ["dot/2"] = "torch_sum({0} * {1})",
        ["min/1"] = "torch_min({0})", ["max/1"] = "torch_max({0})", ["prod/1"] = "torch_prod({0})",
        ["logsumexp/1"] = "torch_logsumexp({0}, dim = 1)", ["cumsum/1"] = "torch_cumsum({0}, dim = 1)", ["diff/1"] = "torch_diff({0})",
        ["clamp/3"] = "torch_clamp({0}, {1}, {2})", ["length/1"] = "{0}$numel()",
        ["seq_along/1"] = "torch_tensor(seq_len({0}$numel()), dtype = torch_float64())",
    };

    public static readonly IReadOnlyDictionary<string, string> Jax = new Dictionary<string, string>
    {
        ["exp/1"] = "jnp.exp({0})", ["log/1"] = "jnp.log({0})", ["sqrt/1"] = "jnp.sqrt({0})", ["abs/1"] = "jnp.abs({0})",
        ["sin/1"] = "jnp.sin({0})", ["cos/1"] = "jnp.cos({0})", ["tan/1"] = "jnp.tan({0})", ["tanh/1"] = "jnp.tanh({0})",
        ["sigmoid/1"] = "jax.nn.sigmoid({0})", ["relu/1"] = "jax.nn.relu({0})", ["softplus/1"] = "jnp.logaddexp({0}, 0.0)",
        ["square/1"] = "jnp.square({0})", ["atan/1"] = "jnp.arctan({0})", ["asin/1"] = "jnp.arcsin({0})", ["acos/1"] = "jnp.arccos({0})",
        ["sinh/1"] = "jnp.sinh({0})", ["cosh/1"] = "jnp.cosh({0})", ["asinh/1"] = "jnp.arcsinh({0})", ["acosh/1"] = "jnp.arccosh({0})",
        ["atanh/1"] = "jnp.arctanh({0})", ["log1p/1"] = "jnp.log1p({0})", ["expm1/1"] = "jnp.expm1({0})", ["log2/1"] = "jnp.log2({0})",
        ["log10/1"] = "jnp.log10({0})", ["erf/1"] = "jax.scipy.special.erf({0})",
        ["pow/2"] = "jnp.power({0}, {1})", ["min/2"] = "jnp.minimum({0}, {1})", ["max/2"] = "jnp.maximum({0}, {1})",
        ["atan2/2"] = "jnp.arctan2({0}, {1})", ["hypot/2"] = "jnp.hypot({0}, {1})",
        ["sum/1"] = "jnp.sum({0})", ["mean/1"] = "jnp.mean({0})", ["dot/2"] = "jnp.sum({0} * {1})",
        ["min/1"] = "jnp.min({0})", ["max/1"] = "jnp.max({0})", ["prod/1"] = "jnp.prod({0})",
        ["logsumexp/1"] = "jax.scipy.special.logsumexp({0})", ["cumsum/1"] = "jnp.cumsum({0})", ["diff/1"] = "jnp.diff({0})",
        ["clamp/3"] = "jnp.clip({0}, {1}, {2})", ["length/1"] = "float(jnp.size({0}))",
        ["seq_along/1"] = "jnp.arange(1, jnp.size({0}) + 1, dtype=jnp.float64)",
    };

    public static readonly IReadOnlyDictionary<string, string> Scipy = new Dictionary<string, string>
    {
        ["exp/1"] = "np.exp({0})", ["log/1"] = "np.log({0})", ["sqrt/1"] = "np.sqrt({0})", ["abs/1"] = "_abs({0})",
        ["sin/1"] = "np.sin({0})", ["cos/1"] = "np.cos({0})", ["tan/1"] = "np.tan({0})", ["tanh/1"] = "np.tanh({0})",
        ["sigmoid/1"] = "_sigmoid({0})", ["relu/1"] = "_relu({0})", ["softplus/1"] = "_softplus({0})",
        ["square/1"] = "np.square({0})", ["atan/1"] = "np.arctan({0})", ["asin/1"] = "np.arcsin({0})", ["acos/1"] = "np.arccos({0})",
        ["sinh/1"] = "np.sinh({0})", ["cosh/1"] = "np.cosh({0})", ["asinh/1"] = "np.arcsinh({0})", ["acosh/1"] = "np.arccosh({0})",
        ["atanh/1"] = "np.arctanh({0})", ["log1p/1"] = "np.log1p({0})", ["expm1/1"] = "np.expm1({0})", ["log2/1"] = "np.log2({0})",
        ["log10/1"] = "np.log10({0})", ["erf/1"] = "scipy.special.erf({0})",
        ["pow/2"] = "np.power({0}, {1})", ["min/2"] = "_minimum({0}, {1})", ["max/2"] = "_maximum({0}, {1})",
        ["atan2/2"] = "_atan2({0}, {1})", ["hypot/2"] = "np.sqrt({0} * {0} + {1} * {1})",
        ["sum/1"] = "np.sum({0})", ["mean/1"] = "np.mean({0})", ["dot/2"] = "np.sum({0} * {1})",
        ["min/1"] = "_min({0})", ["max/1"] = "_max({0})", ["prod/1"] = "np.prod({0})",
        ["logsumexp/1"] = "_logsumexp({0})", ["cumsum/1"] = "np.cumsum({0})", ["diff/1"] = "np.diff({0})",
        ["clamp/3"] = "_clamp({0}, {1}, {2})", ["length/1"] = "float(np.size({0}))",
        ["seq_along/1"] = "np.arange(1, np.size({0}) + 1, dtype=float)",
    };

    /// <summary>
    /// The complex-step helpers of the scipy scripts: numpy's own abs, minimum, maximum, arctan2 and comparisons
    /// read a complex number's modulus or order it lexicographically; these decide on the real part and carry the
    /// imaginary part (the derivative) through, with the registry's conventions at kinks.
    /// </summary>
    public const string ScipyPrelude = """
        np.seterr(over="ignore", invalid="ignore", divide="ignore")


        def _abs(x):
            return np.where(np.real(x) < 0, -x, x)


        def _relu(x):
            return np.where(np.real(x) > 0, x, 0.0 * x)


        def _sigmoid(x):
            return 1.0 / (1.0 + np.exp(-x))


        def _softplus(x):
            return np.where(np.real(x) > 0, x + np.log1p(np.exp(-x)), np.log1p(np.exp(x)))


        def _minimum(a, b):
            return np.where(np.real(a) < np.real(b), a, np.where(np.real(a) > np.real(b), b, (a + b) / 2))


        def _maximum(a, b):
            return np.where(np.real(a) > np.real(b), a, np.where(np.real(a) < np.real(b), b, (a + b) / 2))


        def _min(v):
            v = np.asarray(v)
            tied = np.real(v) == np.min(np.real(v))
            return np.sum(np.where(tied, v, 0.0 * v)) / np.sum(tied)


        def _max(v):
            v = np.asarray(v)
            tied = np.real(v) == np.max(np.real(v))
            return np.sum(np.where(tied, v, 0.0 * v)) / np.sum(tied)


        def _clamp(x, lo, hi):
            x = np.where(np.real(x) < np.real(lo), lo + 0.0 * x, x)
            return np.where(np.real(x) > np.real(hi), hi + 0.0 * x, x)


        def _logsumexp(v):
            m = np.max(np.real(v))
            return m + np.log(np.sum(np.exp(v - m)))


        def _atan2(y, x):
            ry, rx = np.real(y), np.real(x)
            return np.arctan2(ry, rx) + 1j * (rx * np.imag(y) - ry * np.imag(x)) / (rx * rx + ry * ry)
        """;

    /// <summary>
    /// The matrix functions, refused in every library for now: a job over matrices is not exported (its values would
    /// be bound flat), so a spelling of these would never run.
    /// </summary>
    public static readonly IReadOnlySet<string> NotExported = new HashSet<string>(StringComparer.Ordinal)
    {
        "t/1", "rowSums/1", "colSums/1", "rowMeans/1", "colMeans/1",
    };

    public static IReadOnlyDictionary<string, string> For(ExportLanguage language) => language switch
    {
        ExportLanguage.PyTorch => PyTorch,
        ExportLanguage.RTorch => RTorch,
        ExportLanguage.Jax => Jax,
        _ => Scipy,
    };
}
