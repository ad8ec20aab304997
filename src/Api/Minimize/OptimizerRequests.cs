using Autograd.Api.Infrastructure;
using Autograd.Contracts;
using Autograd.Optimization;

namespace Autograd.Api.Minimize;

/// <summary>Maps the optimizer of a request to engine settings, with 400 problems naming the bad setting.</summary>
public static class OptimizerRequests
{
    static readonly Dictionary<string, OptimizerKind> Kinds = new(StringComparer.OrdinalIgnoreCase)
    {
        ["sgd"] = OptimizerKind.Sgd, ["adam"] = OptimizerKind.Adam, ["adamw"] = OptimizerKind.AdamW,
        ["rmsprop"] = OptimizerKind.RmsProp, ["adagrad"] = OptimizerKind.Adagrad,
        ["lbfgs"] = OptimizerKind.Lbfgs, ["newton"] = OptimizerKind.Newton,
        ["levenberg-marquardt"] = OptimizerKind.LevenbergMarquardt,
    };

    public static string NameOf(OptimizerKind kind) => Kinds.First(k => k.Value == kind).Key;

    public static OptimizerSettings ToSettings(OptimizerRequest? request)
    {
        if (request?.Type is null)
            throw Problems.Invalid("optimizer.type", $"'optimizer' with a 'type' is required: one of {string.Join(", ", Kinds.Keys)}.");
        if (!Kinds.TryGetValue(request.Type, out var kind))
            throw new ProblemException(400, "unknown-optimizer", "Unknown optimizer",
                $"'{request.Type}' is not an optimizer; use one of {string.Join(", ", Kinds.Keys)}.",
                new Dictionary<string, object?> { ["field"] = "optimizer.type" });
        if (request.Betas is { Length: not 2 })
            throw InvalidSetting("betas", "betas must be an array of two numbers, e.g. [0.9, 0.999].");
        var lineSearch = request.LineSearch?.ToLowerInvariant();
        if (lineSearch is not (null or "strong_wolfe" or "none"))
            throw InvalidSetting("lineSearch", $"lineSearch must be 'strong_wolfe' or 'none', not '{request.LineSearch}'.");

        var settings = new OptimizerSettings(kind, request.LearningRate)
        {
            Momentum = request.Momentum ?? 0,
            Dampening = request.Dampening ?? 0,
            Nesterov = request.Nesterov ?? false,
            WeightDecay = request.WeightDecay,
            Beta1 = request.Betas?[0] ?? 0.9,
            Beta2 = request.Betas?[1] ?? 0.999,
            Eps = request.Eps,
            Amsgrad = request.Amsgrad ?? false,
            Alpha = request.Alpha ?? 0.99,
            Centered = request.Centered ?? false,
            LearningRateDecay = request.LearningRateDecay ?? 0,
            InitialAccumulatorValue = request.InitialAccumulatorValue ?? 0,
            HistorySize = request.HistorySize ?? 10,
            StrongWolfe = lineSearch != "none",
        };
        if (settings.Validate() is { } problem) throw InvalidSetting(problem.Setting, problem.Message);
        return settings;
    }

    static ProblemException InvalidSetting(string setting, string message) =>
        new(400, "invalid-optimizer-setting", "An optimizer setting is not valid", message,
            new Dictionary<string, object?> { ["field"] = $"optimizer.{setting}" });
}
