using Autograd.Expressions;

namespace Autograd.Tests;

/// <summary>
/// The tutorial's Rosenbrock descent in float32 (a = 1, b = 5, from (-1, 1), lr = 0.01, 1000 steps)
/// against the figures R torch prints for the same loop. Iteration k reports the value and gradient
/// at the point before the k-th update.
/// </summary>
public class Float32Tests
{
    const float LearningRate = 0.01f;

    // R torch, float32: iteration -> (value, gradient).
    static readonly Dictionary<int, (float Value, float[] Gradient)> Torch = new()
    {
        [100] = (0.3502924f, [-0.667685f, -0.5771312f]),
        [1000] = (6.962555e-05f, [-0.003222887f, -0.006653666f]),
    };

    static void AssertRelative(double expected, double actual, double tolerance, string what) =>
        Assert.True(Math.Abs(actual - expected) <= tolerance * Math.Abs(expected),
            $"{what}: {actual:R}, torch {expected:R}, relative error {Math.Abs(actual - expected) / Math.Abs(expected):G3}");

    static void AssertMatchesTorch(Dictionary<int, (float Value, float[] Gradient)> seen, float[] x)
    {
        foreach (var (iteration, (value, gradient)) in Torch)
        {
            var (actualValue, actualGradient) = seen[iteration];
            AssertRelative(value, actualValue, 1e-6, $"value at iteration {iteration}");
            AssertRelative(gradient[0], actualGradient[0], 1e-6, $"d/dx1 at iteration {iteration}");
            AssertRelative(gradient[1], actualGradient[1], 1e-6, $"d/dx2 at iteration {iteration}");
        }
        Assert.Equal(0.9918, x[0], 4);
        Assert.Equal(0.9830, x[1], 4);
    }

    [Fact]
    public void RosenbrockDescentWithFloatTensorsReproducesTorch()
    {
        var x = Tensor<float>.Vector([-1f, 1f], requiresGrad: true);
        var seen = new Dictionary<int, (float, float[])>();
        for (var iteration = 1; iteration <= 1000; iteration++)
        {
            var value = (1f - x[0]).Pow(2f) + 5f * (x[1] - x[0].Pow(2f)).Pow(2f);
            value.Backward();
            if (Torch.ContainsKey(iteration)) seen[iteration] = (value.Item(), x.Grad!.ToArray());
            using (GradMode.NoGrad())
            {
                x.SubtractInPlace(LearningRate * x.Grad!);
                x.ZeroGrad();
            }
        }
        AssertMatchesTorch(seen, x.ToArray());
    }

    [Fact]
    public void RosenbrockDescentWithAFloatFormulaReproducesTorch()
    {
        var compiled = CompiledFormula<float>.Compile(Formula.Parse("(a - x[1])^2 + b*(x[2] - x[1]^2)^2"),
        [
            InputSpec.Vector("x", InputKind.Parameter, 2),
            InputSpec.Scalar("a", InputKind.Constant),
            InputSpec.Scalar("b", InputKind.Constant),
        ]);
        compiled.SetInput(1, [1f]);
        compiled.SetInput(2, [5f]);
        float[] x = [-1f, 1f];
        var seen = new Dictionary<int, (float, float[])>();
        for (var iteration = 1; iteration <= 1000; iteration++)
        {
            compiled.SetInput(0, x);
            var value = compiled.EvaluateWithGradient();
            var gradient = compiled.GradientOf(0);
            if (iteration == 1)
            {
                Assert.Equal(4f, value);
                Assert.Equal([-4f, 0f], gradient.ToArray());
            }
            if (Torch.ContainsKey(iteration)) seen[iteration] = (value, gradient.ToArray());
            for (var i = 0; i < x.Length; i++) x[i] -= LearningRate * gradient[i];
        }
        AssertMatchesTorch(seen, x);
    }

    [Fact]
    public void FloatTensorAndFloatFormulaAgreeBitForBit()
    {
        var compiled = CompiledFormula<float>.Compile(Formula.Parse("(1 - x[1])^2 + 5*(x[2] - x[1]^2)^2"),
            [InputSpec.Vector("x", InputKind.Parameter, 2)]);
        float[] point = [0.123f, -0.77f];
        compiled.SetInput(0, point);
        var formulaValue = compiled.EvaluateWithGradient();

        var x = Tensor<float>.Vector(point, requiresGrad: true);
        var value = (1f - x[0]).Pow(2f) + 5f * (x[1] - x[0].Pow(2f)).Pow(2f);
        value.Backward();

        Assert.Equal(formulaValue, value.Item());
        Assert.Equal(compiled.GradientOf(0).ToArray(), x.Grad!.ToArray());
    }
}
