using System.Globalization;
using System.Text;
using Autograd.Optimization;

namespace Autograd.Api.Export;

/// <summary>A named value of the job as a script binds it: its spelling there, its numbers, and whether it is one number.</summary>
public sealed record ExportValue(string Name, string ScriptName, double[] Values, bool IsScalar);

/// <summary>Everything a script needs to reproduce one run of a job, already checked and translated.</summary>
public sealed record ExportPlan
{
    public required string JobId { get; init; }
    public required ExportLanguage Language { get; init; }
    public required string Expression { get; init; }
    public required TranslatedFormula Formula { get; init; }
    public required IReadOnlyList<ExportValue> Parameters { get; init; }
    public required IReadOnlyList<ExportValue> Constants { get; init; }
    public required IReadOnlyList<ExportValue> Data { get; init; }
    /// <summary>True when the data goes to data.csv next to the script rather than into it.</summary>
    public required bool DataInCsv { get; init; }
    public required OptimizerSettings Optimizer { get; init; }
    public required string OptimizerName { get; init; }
    public required int MaxIterations { get; init; }
    public double? GradientNormTolerance { get; init; }
    public double? ValueChangeTolerance { get; init; }
    public double? ParameterChangeTolerance { get; init; }
    public required bool Float32 { get; init; }
    /// <summary>The job's result as the service reported it (for the script's header), if it has finished.</summary>
    public string? ServiceResult { get; init; }

    public bool Python => Language != ExportLanguage.RTorch;

    public string Number(double value) => FormulaTranslator.Number(value, Python);

    public string Numbers(IEnumerable<double> values) => string.Join(", ", values.Select(Number));

    /// <summary>The header comment lines: what the script reproduces and how.</summary>
    public IEnumerable<string> Description()
    {
        yield return $"Job {JobId} of Autograd.Service, reproduced with {Names[Language]}.";
        yield return "";
        yield return $"Loss: {Expression}";
        yield return $"Optimizer: {OptimizerName} ({Settings()}); at most {MaxIterations} iterations" + Tolerances() + ".";
        if (Float32) yield return "The job ran in float32; so does this script.";
        if (DataInCsv) yield return $"Data: data.csv next to this script, from GET /minimize/{JobId}/export/data.csv.";
        if (ServiceResult is not null) yield return $"The service's result: {ServiceResult}";
    }

    static readonly Dictionary<ExportLanguage, string> Names = new()
    {
        [ExportLanguage.PyTorch] = "PyTorch", [ExportLanguage.RTorch] = "R torch", [ExportLanguage.Jax] = "JAX",
        [ExportLanguage.Scipy] = "NumPy and SciPy",
    };

    string Tolerances()
    {
        var parts = new List<string>();
        if (GradientNormTolerance is { } g) parts.Add($"gradient norm <= {Number(g)}");
        if (ValueChangeTolerance is { } v) parts.Add($"loss change <= {Number(v)}");
        if (ParameterChangeTolerance is { } p) parts.Add($"step <= {Number(p)}");
        return parts.Count == 0 ? "" : ", stopping at " + string.Join(" or ", parts);
    }

    string Settings()
    {
        var o = Optimizer;
        var text = new StringBuilder($"learning rate {Number(o.EffectiveLearningRate)}");
        switch (o.Kind)
        {
            case OptimizerKind.Sgd:
                text.Append($", momentum {Number(o.Momentum)}, dampening {Number(o.Dampening)}, nesterov {o.Nesterov}");
                break;
            case OptimizerKind.Adam or OptimizerKind.AdamW:
                text.Append($", betas ({Number(o.Beta1)}, {Number(o.Beta2)}), eps {Number(o.Eps ?? 1e-8)}, amsgrad {o.Amsgrad}");
                break;
            case OptimizerKind.RmsProp:
                text.Append($", alpha {Number(o.Alpha)}, eps {Number(o.Eps ?? 1e-8)}, momentum {Number(o.Momentum)}, centered {o.Centered}");
                break;
            case OptimizerKind.Adagrad:
                text.Append($", lr decay {Number(o.LearningRateDecay)}, initial accumulator {Number(o.InitialAccumulatorValue)}, eps {Number(o.Eps ?? 1e-10)}");
                break;
            case OptimizerKind.Lbfgs:
                text.Append($", history {o.HistorySize}, line search {(o.StrongWolfe ? "strong_wolfe" : "none")}");
                break;
        }
        if (WeightDecay != 0) text.Append($", weight decay {Number(WeightDecay)}");
        return text.ToString();
    }

    /// <summary>The weight decay in effect: as given, else 0.01 for adamw and 0 otherwise (torch's defaults).</summary>
    public double WeightDecay => Optimizer.WeightDecay ?? (Optimizer.Kind == OptimizerKind.AdamW ? 1e-2 : 0);

    public static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
