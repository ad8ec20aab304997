using System.Numerics;
using Autograd.Analysis;
using Autograd.Api.Infrastructure;
using Autograd.Contracts;
using Autograd.Expressions;
using Autograd.Optimization;

namespace Autograd.Api.Gradients;

/// <summary>The insight a /gradient request may ask for besides the gradient: the check, the certificate and the derivative as a formula.</summary>
public static class GradientInsight
{
    /// <summary>Adds what <paramref name="request"/> asks for to <paramref name="response"/>; the formula holds the request's point.</summary>
    public static GradientResponse Add<T>(GradientResponse response, GradientRequest request, CompiledFormula<T> compiled,
        BoundInputs inputs, ServiceLimits limits) where T : IFloatingPointIeee754<T>
    {
        if (!request.Check && !request.Certificate && !request.Symbolic) return response;
        var tapeElements = TapeElements(compiled);
        if (request.Check && tapeElements * 4L * compiled.ParameterCount > limits.MaxInsightElementSweeps)
            throw Problems.TooLarge("check-too-large", "check",
                $"Checking {compiled.ParameterCount:N0} parameter elements replays a tape of {tapeElements:N0} numbers {4L * compiled.ParameterCount:N0} times, more than the limit of {limits.MaxInsightElementSweeps:N0} number-sweeps; check a smaller problem or a sample of the data.");
        return response with
        {
            Check = request.Check ? Check(compiled) : null,
            Certificate = request.Certificate ? Certificate(compiled, limits) : null,
            Symbolic = request.Symbolic ? SymbolicInsight.Derive(compiled, inputs, limits) : null,
        };
    }

    public static long TapeElements<T>(CompiledFormula<T> compiled) where T : IFloatingPointIeee754<T> =>
        compiled.Tape.Nodes.Sum(node => (long)node.Length);

    static GradientCheck Check<T>(CompiledFormula<T> compiled) where T : IFloatingPointIeee754<T>
    {
        var elements = GradientChecker.Check(compiled).Select(e => new GradientCheckElement
        {
            Parameter = e.Index is { } i ? $"{e.Parameter}[{i}]" : e.Parameter,
            Reverse = e.Reverse,
            Estimate = Finite(e.Estimate),
            AbsoluteError = Finite(e.AbsoluteError),
            RelativeError = Finite(e.RelativeError),
            Step = Finite(e.Step),
            Tolerance = Finite(e.Tolerance),
            Passed = e.Passed,
            Kink = e.Kink,
        }).ToArray();
        var relative = typeof(T) == typeof(float) ? "1e-2" : "1e-6";
        return new GradientCheck
        {
            Passed = elements.All(e => e.Passed != false),
            Failures = elements.Count(e => e.Passed == false),
            Kinks = elements.Count(e => e.Passed is null),
            Method = $"central differences with step h = eps^(1/3)·max(1, |x|) and h/2, Richardson-extrapolated (error O(h^4)); passes when |reverse - estimate| ≤ {relative}·max(|reverse|, |estimate|) + 10·eps·max(1, |f|)/(h/2)",
            Elements = elements,
        };
    }

    /// <summary>JSON has no NaN: a non-finite difference (a point at the edge of the domain) is reported as the largest double.</summary>
    static double Finite(double value) => double.IsFinite(value) ? value : double.MaxValue;

    /// <summary>The certificate at the formula's current point, or the reason it was skipped.</summary>
    public static CurvatureCertificate Certificate<T>(CompiledFormula<T> compiled, ServiceLimits limits, Bounds<T>? box = null) where T : IFloatingPointIeee754<T>
    {
        var n = compiled.ParameterCount;
        var products = n <= limits.MaxHessianParameters ? n : Certifier.LanczosSteps;
        var tapeElements = TapeElements(compiled);
        if (tapeElements * (long)products > limits.MaxInsightElementSweeps)
            return new CurvatureCertificate
            {
                Skipped = $"a certificate needs {products} Hessian-vector products over a tape of {tapeElements:N0} numbers, more than the limit of {limits.MaxInsightElementSweeps:N0} number-sweeps",
            };
        var certificate = Certifier.Certify(compiled, limits.MaxHessianParameters, box);
        if (!certificate.Eigenvalues.All(double.IsFinite) || !double.IsFinite(certificate.GradientNorm))
            return new CurvatureCertificate { Skipped = "the Hessian or the gradient is not finite at this point", HessianVectorProducts = certificate.Products };
        return new CurvatureCertificate
        {
            Kind = certificate.Kind.ToString().ToLowerInvariant(),
            Eigenvalues = certificate.Eigenvalues,
            Complete = certificate.Complete,
            Method = certificate.Method,
            Tolerance = certificate.Tolerance,
            ConditionNumber = certificate.ConditionNumber,
            GradientNorm = certificate.GradientNorm,
            HessianVectorProducts = certificate.Products,
            HeldByBounds = box is null ? null : certificate.HeldByBounds,
        };
    }
}
