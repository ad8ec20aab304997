namespace Autograd;

// The matrix ops' entries (kernels in MatrixKernels.cs, shapes in MatrixShapes.cs). Their samples are the row-major
// elements of a 2 x 3 matrix x (and for %*% and cbind, then those of y: 3 x 2 for %*%, a vector of 2 for cbind);
// MatrixOpTests walks them with those shapes against VectorReference and central differences.
internal static partial class OpRegistry
{
    /// <summary>The shapes the matrix entries' samples take: x's rows and columns, and y's (0 columns: a vector).</summary>
    public static (int Rows, int Columns, int YRows, int YColumns) MatrixSampleShape(Op op) => op switch
    {
        Op.MatMul => (2, 3, 3, 2),
        Op.Cbind => (2, 3, 2, 0),
        Op.BroadcastRows => (1, 3, 0, 0),
        _ => (2, 3, 0, 0),
    };

    static OpEntry[] DeclareMatrices()
    {
        double[][] matrices = [[0.3, -1.1, 2.4, 0.5, -1.25, 2.0], [-2.3, 0.37, 1.9, 7.25, -12.5, 1e-3]];
        static double[] Transpose(double[] x, int rows, int columns) =>
            Enumerable.Range(0, x.Length).Select(i => x[i % rows * columns + i / rows]).ToArray();
        static double[] RowReduce(double[] x, int columns, bool mean) =>
            x.Chunk(columns).Select(row => row.Sum() / (mean ? columns : 1)).ToArray();
        static double[] ColumnReduce(double[] x, int columns, bool mean) =>
            Enumerable.Range(0, columns).Select(j => x.Where((_, i) => i % columns == j).Sum() / (mean ? x.Length / columns : 1)).ToArray();

        return
        [
            new KernelEntry(Op.MatMul, OpShape.Matrix, 2, typeof(MatMulKernel<>))
            {
                Samples = [[0.3, -1.1, 2.4, 0.5, -1.25, 2.0, -2.3, 0.37, 1.9, 7.25, -12.5, 1e-3], [.. matrices[1], .. matrices[0]]],
                // (2 x 3) %*% (3 x 2), written out.
                VectorReference = (x, y) => [.. Enumerable.Range(0, 4).Select(e => Enumerable.Range(0, 3).Sum(p => x[e / 2 * 3 + p] * y[p * 2 + e % 2]))],
            },
            new KernelEntry(Op.Transpose, OpShape.Matrix, 1, typeof(TransposeKernel<>))
            {
                Names = ["t"], Samples = matrices, VectorReference = (x, _) => Transpose(x, 2, 3),
            },
            new KernelEntry(Op.Cbind, OpShape.Matrix, 2, typeof(CbindKernel<>))
            {
                Samples = [[.. matrices[0], 4.5, -0.7], [.. matrices[1], 1e-3, 3.0]],
                VectorReference = (x, y) => [.. x[..3], y[0], .. x[3..], y[1]],
            },
            new KernelEntry(Op.BroadcastRows, OpShape.Matrix, 1, typeof(BroadcastRowsKernel<>))
            {
                Samples = [matrices[0][..3], matrices[1][..3]], VectorReference = (x, _) => [.. x, .. x],
            },
            new KernelEntry(Op.RowSums, OpShape.Matrix, 1, typeof(RowSumsKernel<>))
            {
                Names = ["rowSums"], Samples = matrices, VectorReference = (x, _) => RowReduce(x, 3, mean: false),
            },
            new KernelEntry(Op.ColSums, OpShape.Matrix, 1, typeof(ColSumsKernel<>))
            {
                Names = ["colSums"], Samples = matrices, VectorReference = (x, _) => ColumnReduce(x, 3, mean: false),
            },
            new KernelEntry(Op.RowMeans, OpShape.Matrix, 1, typeof(RowMeansKernel<>))
            {
                Names = ["rowMeans"], Samples = matrices, VectorReference = (x, _) => RowReduce(x, 3, mean: true),
            },
            new KernelEntry(Op.ColMeans, OpShape.Matrix, 1, typeof(ColMeansKernel<>))
            {
                Names = ["colMeans"], Samples = matrices, VectorReference = (x, _) => ColumnReduce(x, 3, mean: true),
            },
        ];
    }
}
