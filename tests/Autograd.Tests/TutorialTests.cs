using Autograd.Expressions;

namespace Autograd.Tests;

/// <summary>The tutorial's autograd chapter, retold through the engine's torch-like API.</summary>
public class TutorialTests
{
    [Fact]
    public void ParaboloidValueAndGradientMatchTheTutorial()
    {
        var x1 = Tensor<double>.Scalar(2, requiresGrad: true);
        var x2 = Tensor<double>.Scalar(2, requiresGrad: true);

        var x3 = x1.Square();
        var x5 = x3 * 0.2;
        var x4 = x2.Square();
        var x6 = x4 * 0.2;
        var x7 = x5 + x6 - 5;

        Assert.Equal(-3.4, x7.Item(), 12);
        Assert.True(x7.RequiresGrad);
        Assert.False(x7.IsLeaf);

        x7.Backward();
        Assert.Equal(0.8, x1.Grad!.Item(), 12);
        Assert.Equal(0.8, x2.Grad!.Item(), 12);
    }

    [Fact]
    public void GradientsAccumulateUntilZeroed()
    {
        var x1 = Tensor<double>.Scalar(2, requiresGrad: true);
        var x2 = Tensor<double>.Scalar(2, requiresGrad: true);
        var x7 = 0.2 * x1.Square() + 0.2 * x2.Square() - 5;

        x7.Backward();
        x7.Backward();
        Assert.Equal(1.6, x1.Grad!.Item(), 12);
        Assert.Equal(1.6, x2.Grad!.Item(), 12);

        x1.ZeroGrad();
        Assert.Equal(0.0, x1.Grad!.Item());
        Assert.Equal(1.6, x2.Grad!.Item(), 12);
    }

    [Fact]
    public void WorkInsideNoGradIsNotRecorded()
    {
        var x = Tensor<double>.Vector([-1, 1], requiresGrad: true);
        var value = (1 - x[0]).Square() + 5 * (x[1] - x[0].Square()).Square();
        var tape = value.Tape!;
        var recorded = tape.Count;

        value.Backward();
        using (GradMode.NoGrad())
        {
            var step = 0.01 * x.Grad!;
            Assert.False(step.RequiresGrad);
            Assert.Null(step.Tape);
            x.SubtractInPlace(step);
            x.ZeroGrad();
        }

        Assert.Equal(recorded, tape.Count);
        Assert.Equal([-1 + 0.01 * 4, 1.0], x.ToArray());
        Assert.Equal([0.0, 0.0], x.Grad!.ToArray());
    }

    [Fact]
    public void InPlaceUpdateOfALeafThatRequiresGradNeedsNoGrad()
    {
        var x = Tensor<double>.Scalar(1, requiresGrad: true);
        Assert.Throws<InvalidOperationException>(() => x.SubtractInPlace(Tensor<double>.Scalar(1)));
    }

    [Fact]
    public void DetachedTensorDoesNotRequireGrad()
    {
        var x = Tensor<double>.Scalar(3, requiresGrad: true);
        var y = (x * x).Detach();
        Assert.False(y.RequiresGrad);
        Assert.True(y.IsLeaf);
        Assert.Equal(9, y.Item());
    }

    [Fact]
    public void RosenbrockDescentFromScratchReachesTheTutorialsPoint()
    {
        // The tutorial's loop: value, backward, then an update and zero_() inside with_no_grad.
        var x = Tensor<double>.Vector([-1, 1], requiresGrad: true);
        for (var i = 1; i <= 1000; i++)
        {
            var value = (1 - x[0]).Square() + 5 * (x[1] - x[0].Square()).Square();
            value.Backward();
            using (GradMode.NoGrad())
            {
                x.SubtractInPlace(0.01 * x.Grad!);
                x.ZeroGrad();
            }
        }
        Assert.Equal(0.9918216738881531, x.Values[0], 1e-12);
        Assert.Equal(0.9830474495799582, x.Values[1], 1e-12);
    }

    [Fact]
    public void RosenbrockFormulaGivesValueFourAndGradientMinusFourZero()
    {
        var formula = Formula.Parse("(a - x[1])^2 + b*(x[2] - x[1]^2)^2");
        var compiled = CompiledFormula<double>.Compile(formula,
        [
            InputSpec.Vector("x", InputKind.Parameter, 2),
            InputSpec.Scalar("a", InputKind.Constant),
            InputSpec.Scalar("b", InputKind.Constant),
        ]);
        compiled.SetInput(0, [-1.0, 1.0]);
        compiled.SetInput(1, [1.0]);
        compiled.SetInput(2, [5.0]);

        Assert.Equal(4.0, compiled.EvaluateWithGradient());
        Assert.Equal([-4.0, 0.0], compiled.GradientOf(0).ToArray());
    }
}
