namespace Autograd;

/// <summary>The shape rules: a scalar broadcasts against a vector; vectors combine only at equal lengths.</summary>
internal static class Shapes
{
    public static (int Length, bool IsScalar) Result(Op op, int xLength, bool xScalar, int yLength, bool yScalar, int index, int count = 0)
    {
        if (op == Op.Input) throw new ArgumentException("Inputs are added with AddInput.", nameof(op));
        switch (OpRegistry.Of(op).Shape)
        {
            case OpShape.Reduction:
                return (1, true);
            case OpShape.Pairwise:
                if (xLength != yLength)
                    throw new ShapeException($"{OpNames.Of(op)} needs two vectors of the same length, not {Describe(xLength, xScalar)} and {Describe(yLength, yScalar)}.");
                return (1, true);
            case OpShape.Element:
                if (xScalar)
                    throw new ShapeException("Only a vector can be indexed; this operand is a scalar.");
                if (index < 0 || index >= xLength)
                    throw new ShapeException($"Index {index + 1} is out of range: the vector has {xLength} element{(xLength == 1 ? "" : "s")} (indices start at 1).");
                return (1, true);
            case OpShape.Broadcast:
                if (xScalar) return (yLength, yScalar);
                if (yScalar) return (xLength, xScalar);
                if (xLength != yLength)
                    throw new ShapeException($"{OpNames.Of(op)} of vectors of different lengths ({xLength} and {yLength}); only a scalar broadcasts.");
                return (xLength, false);
            case OpShape.Elementwise:
                return (xLength, xScalar);
            case OpShape.Scan:
                return (xLength, xScalar);
            case OpShape.Run:
                if (xScalar) throw new ShapeException("Only a vector can be sliced; this operand is a scalar.");
                if (index < 0 || count < 1 || index + count > xLength)
                    throw new ShapeException($"Slice {index + 1}:{index + count} is out of range: the vector has {xLength} element{(xLength == 1 ? "" : "s")}.");
                return (count, false);
            case OpShape.Difference:
                if (xLength < 2)
                    throw new ShapeException($"{OpNames.Of(op)} needs a vector of at least 2 elements, not {Describe(xLength, xScalar)}.");
                return (xLength - 1, false);
            default:
                throw new InvalidOperationException($"Op {op} declares shape {OpRegistry.Of(op).Shape}, which has no rule.");
        }
    }

    static string Describe(int length, bool isScalar) => isScalar ? "a scalar" : $"a vector of {length}";
}
