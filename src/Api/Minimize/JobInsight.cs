using System.Globalization;
using System.Numerics;
using Autograd.Analysis;
using Autograd.Api.Gradients;
using Autograd.Api.Infrastructure;
using Autograd.Contracts;
using Autograd.Expressions;
using Autograd.Optimization;

namespace Autograd.Api.Minimize;

/// <summary>A job's learning-rate preflight at the start and curvature certificate at the result.</summary>
public static class JobInsight
{
    /// <summary>Power-iteration steps at most: each one Hessian-vector product.</summary>
    const int PreflightProducts = 100;

    /// <summary>The preflight for a first-order optimizer at the start the formula holds; null for lbfgs and newton.</summary>
    public static LearningRatePreflight? Preflight<T>(CompiledFormula<T> compiled, OptimizerSettings settings, bool miniBatches, ServiceLimits limits)
        where T : IFloatingPointIeee754<T>
    {
        if (settings.Kind is OptimizerKind.Lbfgs or OptimizerKind.Newton) return null;
        var rate = settings.EffectiveLearningRate;
        if (miniBatches)
            return new LearningRatePreflight { LearningRate = rate, Skipped = "mini-batches: the curvature of one batch is not that of the loss" };
        var tapeElements = GradientInsight.TapeElements(compiled);
        if (tapeElements * (long)PreflightProducts > limits.MaxInsightElementSweeps)
            return new LearningRatePreflight
            {
                LearningRate = rate,
                Skipped = $"power iteration needs up to {PreflightProducts} Hessian-vector products over a tape of {tapeElements:N0} numbers, more than the limit of {limits.MaxInsightElementSweeps:N0} number-sweeps",
            };
        var (lambda, _) = Certifier.LargestEigenvalue(compiled);
        if (!double.IsFinite(lambda))
            return new LearningRatePreflight { LearningRate = rate, Skipped = "the curvature at the start is not finite" };
        if (lambda <= 0)
            return new LearningRatePreflight { LambdaMax = lambda, LearningRate = rate };
        var stable = 2 / lambda;
        // Plain sgd diverges on the local quadratic above 2/λmax; adaptive rules rescale the step, so only a rate
        // far above it is suspicious.
        var factor = settings.Kind == OptimizerKind.Sgd && settings.Momentum == 0 ? 1.0 : 10.0;
        string? warning = rate > factor * stable
            ? $"learningRate {Number(rate)} is {(factor == 1 ? "above" : "more than 10 times")} the largest stable sgd rate 2/λmax = {Number(stable)} at the start (λmax = {Number(lambda)}); the run may diverge"
            : null;
        return new LearningRatePreflight { LambdaMax = lambda, StableLearningRate = stable, LearningRate = rate, Warning = warning };
    }

    /// <summary>A diverged run's message, naming the rate that would have been stable at the start.</summary>
    public static string Message(string message, StopReason reason, LearningRatePreflight? preflight)
    {
        if (reason == StopReason.Diverged && preflight?.StableLearningRate is { } stable)
            return $"{message} At the start λmax = {Number(preflight.LambdaMax!.Value)}: a learning rate below 2/λmax = {Number(stable)} would have been stable there (this run used {Number(preflight.LearningRate)}).";
        if (reason is not (StopReason.Diverged or StopReason.Cancelled) && preflight?.Warning is { } warning && reason > StopReason.ParameterChangeTolerance)
            return $"{message} Preflight: {warning}.";
        return message;
    }

    /// <summary>The certificate at the result, which the formula's parameters must hold; skipped for mini-batches and cancelled runs.</summary>
    public static CurvatureCertificate? Certificate<T>(CompiledFormula<T> compiled, ReadOnlySpan<T> result, StopReason reason, int iterations,
        bool miniBatches, ServiceLimits limits, Bounds<T>? box = null) where T : IFloatingPointIeee754<T>
    {
        if (iterations == 0) return null;
        if (reason == StopReason.Cancelled) return new CurvatureCertificate { Skipped = "the job was cancelled" };
        if (miniBatches)
            return new CurvatureCertificate { Skipped = "mini-batches: the curvature of one batch is not that of the loss; ask POST /gradient with certificate: true over the whole data" };
        new FormulaObjective<T>(compiled).ValueAndGradient(result, new T[result.Length]);
        return GradientInsight.Certificate(compiled, limits, box);
    }

    static string Number(double value) => value.ToString("G6", CultureInfo.InvariantCulture);
}
