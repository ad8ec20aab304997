using System.Numerics;

namespace Autograd.Optimization;

/// <summary>Creates the optimizer of <see cref="OptimizerSettings"/> for a box (or none) and, for Levenberg–Marquardt, residuals.</summary>
public static class BoundedOptimizers
{
    /// <exception cref="ArgumentException">Levenberg–Marquardt without residuals.</exception>
    public static Optimizer<T> Create<T>(OptimizerSettings settings, int dimension, Bounds<T>? bounds,
        IResidualObjective<T>? residuals = null) where T : IFloatingPointIeee754<T>
    {
        if (settings.Kind == OptimizerKind.LevenbergMarquardt)
            return new LevenbergMarquardt<T>(residuals ?? throw new ArgumentException("levenberg-marquardt needs residuals.", nameof(residuals)), bounds);
        if (bounds is null) return settings.Create<T>(dimension);
        return settings.Kind switch
        {
            OptimizerKind.Lbfgs => new ProjectedLbfgs<T>(dimension, bounds, settings.EffectiveLearningRate, settings.HistorySize),
            OptimizerKind.Newton => new ProjectedNewton<T>(dimension, bounds, settings.EffectiveLearningRate),
            _ => new ProjectedOptimizer<T>(settings.Create<T>(dimension), bounds),
        };
    }
}
