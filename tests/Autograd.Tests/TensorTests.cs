namespace Autograd.Tests;

/// <summary>The torch-like Tensor surface: who requires grad, when Backward refuses, and how graphs meet and accumulate.</summary>
public class TensorTests
{
    [Fact]
    public void ResultsOfOpsOnATensorThatRequiresGradRequireGradToo()
    {
        var x = Tensor<double>.Scalar(1.5, requiresGrad: true);
        var c = Tensor<double>.Scalar(2.0);
        var v = Tensor<double>.Vector([1.0, 2.0, 3.0]);

        Assert.True(x.IsLeaf);
        Assert.Null(x.Tape);
        Assert.Null(x.Grad);

        var mixed = x * c;
        Assert.True(mixed.RequiresGrad);
        Assert.False(mixed.IsLeaf);
        Assert.NotNull(mixed.Tape);

        var chained = ((c * x).Exp() + v).Sum().Sqrt();
        Assert.True(chained.RequiresGrad);
        Assert.True((v * x)[1].RequiresGrad);
        Assert.True(v.Dot(v * x).RequiresGrad);

        var constant = (c * c + v).Sum();
        Assert.False(constant.RequiresGrad);
        Assert.True(constant.IsLeaf);
        Assert.Null(constant.Tape);
        Assert.Equal(18.0, constant.Item());
    }

    [Fact]
    public void OpsInsideNoGradDoNotRequireGrad()
    {
        var x = Tensor<double>.Scalar(1.5, requiresGrad: true);
        Tensor<double> y;
        using (GradMode.NoGrad())
        {
            Assert.False(GradMode.IsEnabled);
            y = x * 2.0;
        }
        Assert.True(GradMode.IsEnabled);
        Assert.False(y.RequiresGrad);
        Assert.Equal(3.0, y.Item());
    }

    [Fact]
    public void BackwardOnAVectorAsksForSum()
    {
        var v = Tensor<double>.Vector([1.0, 2.0], requiresGrad: true);
        var doubled = v * 2.0;
        var error = Assert.Throws<ShapeException>(doubled.Backward);
        Assert.Contains("Sum()", error.Message);
        Assert.Contains("2 elements", error.Message);
        Assert.Contains("Sum()", Assert.Throws<ShapeException>(v.Backward).Message);

        doubled.Sum().Backward();
        Assert.Equal([2.0, 2.0], v.Grad!.ToArray());
    }

    [Fact]
    public void BackwardOnATensorThatDoesNotRequireGradIsInvalid()
    {
        Assert.Throws<InvalidOperationException>(Tensor<double>.Scalar(2.0).Backward);
        var constant = Tensor<double>.Scalar(2.0) * 3.0;
        Assert.Throws<InvalidOperationException>(constant.Backward);
        var detached = (Tensor<double>.Scalar(2.0, requiresGrad: true) * 3.0).Detach();
        Assert.Throws<InvalidOperationException>(detached.Backward);
    }

    [Fact]
    public void BackwardOnALeafGivesItAGradientOfOne()
    {
        var x = Tensor<double>.Scalar(4.0, requiresGrad: true);
        x.Backward();
        Assert.Equal(1.0, x.Grad!.Item());
    }

    [Fact]
    public void TwoGraphsFromSeparateLeavesCanMeetInOneOp()
    {
        var x = Tensor<double>.Scalar(1.5, requiresGrad: true);
        var y = Tensor<double>.Scalar(-0.5, requiresGrad: true);
        var a = x * 2.0;
        var b = y * 3.0;
        Assert.NotSame(a.Tape, b.Tape);

        var sum = a + b;
        Assert.Equal(1.5, sum.Item());
        Assert.Same(sum.Tape, a.Tape);
        Assert.Same(sum.Tape, b.Tape);
        sum.Backward();
        Assert.Equal(2.0, x.Grad!.Item());
        Assert.Equal(3.0, y.Grad!.Item());

        // Both halves still work from the merged tape.
        b.Backward();
        Assert.Equal(6.0, y.Grad!.Item());
        a.Backward();
        Assert.Equal(4.0, x.Grad!.Item());
        Assert.Equal(6.0, y.Grad!.Item());
    }

    [Fact]
    public void OneLeafRecordedOnTwoTapesThatMeetGetsBothContributions()
    {
        var x = Tensor<double>.Scalar(1.5, requiresGrad: true);
        var a = x * 2.0;
        var b = x * 3.0;
        var product = a * b;
        Assert.Equal(6 * 1.5 * 1.5, product.Item(), 14);
        product.Backward();
        Assert.Equal(12 * 1.5, x.Grad!.Item(), 14);
    }

    [Fact]
    public void GraphsOnBothSidesOfAnOpMergeWhicheverSideHasTheTape()
    {
        var x = Tensor<double>.Vector([1.0, 2.0], requiresGrad: true);
        var y = Tensor<double>.Scalar(3.0, requiresGrad: true);
        var left = x.Square().Sum();
        var right = (y * x).Sum();
        var mergedRight = right - left;
        var mergedLeft = y.Exp() + mergedRight;
        mergedLeft.Backward();
        // d/dx (y·Σx − Σx²) = y − 2x; d/dy (e^y + Σx) = e^y + Σx.
        Assert.Equal([3.0 - 2.0, 3.0 - 4.0], x.Grad!.ToArray());
        Assert.Equal(Math.Exp(3.0) + 3.0, y.Grad!.Item(), 12);
    }

    [Fact]
    public void LeafUsedInTwoSeparateGraphsAccumulatesBoth()
    {
        var x = Tensor<double>.Scalar(1.5, requiresGrad: true);
        var first = x.Square();
        var second = x * 5.0;
        Assert.NotSame(first.Tape, second.Tape);
        first.Backward();
        Assert.Equal(3.0, x.Grad!.Item());
        second.Backward();
        Assert.Equal(8.0, x.Grad!.Item());
        x.ZeroGrad();
        second.Backward();
        Assert.Equal(5.0, x.Grad!.Item());
    }

    [Fact]
    public void IndexingAVectorSendsTheGradientToThatElement()
    {
        var v = Tensor<double>.Vector([1.0, 2.0, 3.0], requiresGrad: true);
        (v[0] * v[2] + v[2]).Backward();
        Assert.Equal([3.0, 0.0, 2.0], v.Grad!.ToArray());
        Assert.Throws<ShapeException>(() => v[3]);
        Assert.Throws<ShapeException>(() => Tensor<double>.Scalar(1.0)[0]);
    }

    [Fact]
    public void ShapeRulesHoldForTensors()
    {
        var a = Tensor<double>.Vector([1.0, 2.0]);
        var b = Tensor<double>.Vector([1.0, 2.0, 3.0]);
        Assert.Throws<ShapeException>(() => a + b);
        Assert.Throws<ShapeException>(() => a.Dot(b));
        Assert.Throws<ShapeException>(() => Tensor<double>.Vector([]));
        Assert.Throws<ShapeException>(() => b.Item());
        Assert.Equal([11.0, 12.0], (a + 10.0).ToArray());
    }

    [Fact]
    public void Float32ParaboloidGivesMinusThreePointFourAndGradientZeroPointEight()
    {
        var x1 = Tensor<float>.Scalar(2f, requiresGrad: true);
        var x2 = Tensor<float>.Scalar(2f, requiresGrad: true);
        var x7 = 0.2f * x1.Square() + 0.2f * x2.Square() - 5f;
        Assert.Equal(-3.4f, x7.Item());
        x7.Backward();
        Assert.Equal(0.8f, x1.Grad!.Item());
        Assert.Equal(0.8f, x2.Grad!.Item());
    }
}
