using System.Globalization;

namespace Autograd.Expressions;

/// <summary>
/// The model shorthand: a prediction formula, a target column and a named loss, expanded into the one
/// formula that is minimised, so a user sees exactly what is fitted. With r = target - (model):
/// <list type="bullet">
/// <item>mse: mean(r^2)</item>
/// <item>mae: mean(abs(r))</item>
/// <item>huber (delta d): mean(0.5*min(abs(r), d)^2 + d*(abs(r) - min(abs(r), d))), which is r²/2 for |r| ≤ d, else d(|r| - d/2)</item>
/// <item>logcosh: mean(abs(r) + softplus(-2*abs(r)) - log(2)), log(cosh(r)) without overflow</item>
/// <item>bce: mean(softplus(z) - y*z) with z = model: the cross-entropy of sigmoid(z) against a 0/1 target, without log(0)</item>
/// </list>
/// </summary>
public static class ModelLoss
{
    public static readonly IReadOnlyList<string> Names = ["mse", "mae", "huber", "logcosh", "bce"];

    /// <summary>The expanded formula and the 0-based offset at which the model's text starts in it.</summary>
    /// <exception cref="ArgumentException">An unknown loss, or an option it does not take.</exception>
    public static (string Expression, int ModelOffset) Expand(string model, string target, string loss, IReadOnlyDictionary<string, double>? options = null)
    {
        options ??= new Dictionary<string, double>();
        var allowed = loss == "huber" ? new[] { "delta" } : [];
        foreach (var key in options.Keys)
            if (!allowed.Contains(key))
                throw new ArgumentException(loss == "huber"
                    ? $"huber takes the option 'delta', not '{key}'."
                    : $"The {loss} loss takes no options, but '{key}' was given.");
        var delta = options.TryGetValue("delta", out var d) ? d : 1.0;
        if (loss == "huber" && !(delta > 0 && double.IsFinite(delta)))
            throw new ArgumentException($"huber's delta must be a positive number, not {delta}.");
        var deltaText = delta.ToString("R", CultureInfo.InvariantCulture);

        return loss switch
        {
            "mse" => Wrap($"mean(({target} - (", model, "))^2)"),
            "mae" => Wrap($"mean(abs({target} - (", model, ")))"),
            "huber" => ExpandResidual(model, target, loss, deltaText),
            "logcosh" => ExpandResidual(model, target, loss, deltaText),
            "bce" => Wrap("mean(softplus(", model, $") - {target}*({model}))"),
            _ => throw new ArgumentException($"'{loss}' is not a loss; use one of {string.Join(", ", Names)}."),
        };
    }

    static (string, int) Wrap(string before, string model, string after) => (before + model + after, before.Length);

    static (string, int) ExpandResidual(string model, string target, string loss, string delta)
    {
        var residual = $"abs({target} - ({model}))";
        var offset = $"abs({target} - (".Length;
        if (loss == "logcosh")
        {
            var prefix = "mean(";
            return ($"{prefix}{residual} + softplus(-2*{residual}) - log(2))", prefix.Length + offset);
        }
        var huberPrefix = "mean(0.5*min(";
        return ($"{huberPrefix}{residual}, {delta})^2 + {delta}*({residual} - min({residual}, {delta})))", huberPrefix.Length + offset);
    }
}
