using System.Numerics;

namespace Autograd.Optimization;

public enum OptimizerKind { Sgd, Adam, AdamW, RmsProp, Adagrad, Lbfgs, Newton, LevenbergMarquardt }

/// <summary>An optimizer and its hyper-parameters; unset ones take torch.optim's defaults.</summary>
public sealed record OptimizerSettings(OptimizerKind Kind, double? LearningRate = null)
{
    public double Momentum { get; init; }
    public double Dampening { get; init; }
    public bool Nesterov { get; init; }
    public double? WeightDecay { get; init; }
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.999;
    public double? Eps { get; init; }
    public bool Amsgrad { get; init; }
    public double Alpha { get; init; } = 0.99;
    public bool Centered { get; init; }
    public double LearningRateDecay { get; init; }
    public double InitialAccumulatorValue { get; init; }
    public int HistorySize { get; init; } = 10;
    public bool StrongWolfe { get; init; } = true;

    /// <summary>The learning rate used: as given, else 1 for lbfgs and newton, 0.001 for adam and adamw, 0.01 otherwise.</summary>
    public double EffectiveLearningRate => LearningRate ?? Kind switch
    {
        OptimizerKind.Lbfgs or OptimizerKind.Newton or OptimizerKind.LevenbergMarquardt => 1.0,
        OptimizerKind.Adam or OptimizerKind.AdamW => 1e-3,
        _ => 1e-2,
    };

    /// <summary>Whether the optimizer needs the Hessian.</summary>
    public bool NeedsHessian => Kind == OptimizerKind.Newton;

    /// <summary>Checks the settings; returns the first problem as (setting name, message), or null.</summary>
    public (string Setting, string Message)? Validate()
    {
        static bool Probability(double v) => v >= 0 && v < 1;
        if (!(EffectiveLearningRate > 0) || !double.IsFinite(EffectiveLearningRate))
            return ("learningRate", $"The learning rate must be a positive finite number, not {EffectiveLearningRate}.");
        if (Momentum < 0 || !double.IsFinite(Momentum)) return ("momentum", "momentum must be 0 or more.");
        if (Dampening < 0 || Dampening > 1) return ("dampening", "dampening must be between 0 and 1.");
        if (Nesterov && (Momentum <= 0 || Dampening != 0)) return ("nesterov", "Nesterov momentum needs momentum > 0 and dampening 0.");
        if (WeightDecay is < 0 || (WeightDecay is { } w && !double.IsFinite(w))) return ("weightDecay", "weightDecay must be 0 or more.");
        if (!Probability(Beta1)) return ("beta1", "beta1 must be in [0, 1).");
        if (!Probability(Beta2)) return ("beta2", "beta2 must be in [0, 1).");
        if (Eps is <= 0) return ("eps", "eps must be positive.");
        if (!Probability(Alpha)) return ("alpha", "alpha must be in [0, 1).");
        if (LearningRateDecay < 0) return ("learningRateDecay", "learningRateDecay must be 0 or more.");
        if (InitialAccumulatorValue < 0) return ("initialAccumulatorValue", "initialAccumulatorValue must be 0 or more.");
        if (HistorySize is < 1 or > 1000) return ("historySize", "historySize must be between 1 and 1000.");
        return null;
    }

    public Optimizer<T> Create<T>(int dimension) where T : IFloatingPointIeee754<T>
    {
        var lr = EffectiveLearningRate;
        return Kind switch
        {
            OptimizerKind.Sgd => new Sgd<T>(dimension, lr, Momentum, Dampening, Nesterov, WeightDecay ?? 0),
            OptimizerKind.Adam => new Adam<T>(dimension, lr, Beta1, Beta2, Eps ?? 1e-8, WeightDecay ?? 0, Amsgrad),
            OptimizerKind.AdamW => new Adam<T>(dimension, lr, Beta1, Beta2, Eps ?? 1e-8, WeightDecay ?? 1e-2, Amsgrad, decoupledWeightDecay: true),
            OptimizerKind.RmsProp => new RmsProp<T>(dimension, lr, Alpha, Eps ?? 1e-8, WeightDecay ?? 0, Momentum, Centered),
            OptimizerKind.Adagrad => new Adagrad<T>(dimension, lr, LearningRateDecay, WeightDecay ?? 0, InitialAccumulatorValue, Eps ?? 1e-10),
            OptimizerKind.Lbfgs => new Lbfgs<T>(dimension, lr, HistorySize, StrongWolfe),
            OptimizerKind.Newton => new Newton<T>(dimension, lr),
            OptimizerKind.LevenbergMarquardt => throw new InvalidOperationException("levenberg-marquardt needs the residuals: use BoundedOptimizers.Create."),
            _ => throw new ArgumentOutOfRangeException(nameof(Kind), Kind, "Unknown optimizer."),
        };
    }
}
