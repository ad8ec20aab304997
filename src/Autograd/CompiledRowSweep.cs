using System.Linq.Expressions;
using System.Numerics;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace Autograd;

/// <summary>
/// The one-pass sweep of a <see cref="FusedReplay{T}"/> compiled into a loop over rows: each row's chain of
/// elementwise ops runs forward and straight back in registers, with no chunk buffers, adding into the
/// reduction, the scalars' adjoints and the vector inputs' adjoints as it goes. Built from the rules of
/// <see cref="ScalarKernels{T}"/>. Only for chains of arithmetic: scalar sin or exp per row would be slower than
/// the vectorised chunk kernels.
/// </summary>
internal static class CompiledRowSweep<T> where T : IFloatingPointIeee754<T>
{
    /// <summary>
    /// Runs rows [start, end): returns the reduction's partial sum (before dividing a mean), writes each vector
    /// input's adjoint for those rows, and each scalar's adjoint contribution into <c>scalarAdjoints[node id]</c>.
    /// </summary>
    public delegate T Sweep(T[][] arrays, int start, int end, T[] scalarAdjoints);

    static readonly MethodInfo ForwardRule = typeof(ScalarKernels<T>).GetMethod(nameof(ScalarKernels<T>.Forward))!;
    static readonly MethodInfo SlopeX = typeof(ScalarKernels<T>).GetMethod(nameof(ScalarKernels<T>.DX))!;
    static readonly MethodInfo SlopeY = typeof(ScalarKernels<T>).GetMethod(nameof(ScalarKernels<T>.DY))!;
    static readonly MethodInfo AccumulateRule = typeof(CompiledRowSweep<T>).GetMethod(nameof(Accumulate), BindingFlags.NonPublic | BindingFlags.Static)!;
    static readonly MethodInfo MultiplyRule = typeof(CompiledRowSweep<T>).GetMethod(nameof(Multiply), BindingFlags.NonPublic | BindingFlags.Static)!;
    static readonly MethodInfo AddRule = typeof(CompiledRowSweep<T>).GetMethod(nameof(Add), BindingFlags.NonPublic | BindingFlags.Static)!;

    /// <summary>Longer chains stay on the chunk kernels: past some hundred locals the JIT stops optimising the loop.</summary>
    public const int MaxLanes = 64;

    /// <summary>Ops cheap enough per element that a scalar loop beats a pass of vector kernels per op.</summary>
    public static bool IsArithmetic(TapeNode<T> node) => node.Op switch
    {
        Op.Neg or Op.Add or Op.Sub or Op.Mul or Op.Div or Op.Square or Op.Abs or Op.Minimum or Op.Maximum or Op.Relu => true,
        Op.PowConstant => node.Constant == T.CreateChecked(2),
        _ => false,
    };

    /// <param name="nodes">The tape.</param>
    /// <param name="lanes">The computed full-length nodes, in tape order.</param>
    /// <param name="isVectorInput">Whether a node is an input of full length, read row by row.</param>
    /// <param name="reduction">The output: sum, mean or dot over lanes and vector inputs.</param>
    /// <param name="length">The number of rows.</param>
    public static (Sweep Sweep, T[][] Arrays) Compile(IReadOnlyList<TapeNode<T>> nodes, int[] lanes, Func<int, bool> isVectorInput,
        int reduction, int length)
    {
        var arrays = new List<T[]>();
        var arraysParameter = Expression.Parameter(typeof(T[][]), "arrays");
        var start = Expression.Parameter(typeof(int), "start");
        var end = Expression.Parameter(typeof(int), "end");
        var scalarAdjoints = Expression.Parameter(typeof(T[]), "scalarAdjoints");
        var row = Expression.Variable(typeof(int), "row");
        var sum = Expression.Variable(typeof(T), "sum");
        var zero = Expression.Constant(T.Zero, typeof(T));
        var locals = new List<ParameterExpression> { row, sum };
        var setup = new List<Expression> { Expression.Assign(sum, zero) };
        var body = new List<Expression>();
        var finish = new List<Expression>();
        var root = nodes[reduction];
        var withGrad = root.RequiresGrad;

        // Per node: its value (a local, a literal, or a row's element) and, when it requires grad, its adjoint local.
        var values = new Expression?[nodes.Count];
        var adjoints = new ParameterExpression?[nodes.Count];
        var rowAdjoints = new List<(ParameterExpression Adjoint, ParameterExpression Array)>();

        ParameterExpression Local(Type type, string name)
        {
            var local = Expression.Variable(type, name);
            locals.Add(local);
            return local;
        }

        Expression ArrayArgument(T[] array)
        {
            arrays.Add(array);
            return Expression.ArrayIndex(arraysParameter, Expression.Constant(arrays.Count - 1));
        }

        void Operand(int id)
        {
            if (id < 0 || values[id] is not null) return;
            var node = nodes[id];
            if (isVectorInput(id))
            {
                var array = Local(typeof(T[]), $"column{id}");
                setup.Add(Expression.Assign(array, ArrayArgument(node.Value)));
                var element = Local(typeof(T), $"v{id}");
                values[id] = element;
                body.Add(Expression.Assign(element, Expression.ArrayIndex(array, row)));
                if (!withGrad || !node.RequiresGrad) return;
                var adjointArray = Local(typeof(T[]), $"adjoint{id}");
                setup.Add(Expression.Assign(adjointArray, ArrayArgument(node.Adjoint)));
                var adjoint = adjoints[id] = Local(typeof(T), $"g{id}");
                rowAdjoints.Add((adjoint, adjointArray));
                return;
            }
            // A scalar: read once before the loop; its adjoint sums over the rows.
            if (node.IsLiteral) values[id] = Expression.Constant(node.Value[0], typeof(T));
            else
            {
                var value = Local(typeof(T), $"v{id}");
                setup.Add(Expression.Assign(value, Expression.ArrayIndex(ArrayArgument(node.Value), Expression.Constant(0))));
                values[id] = value;
            }
            if (!withGrad || !node.RequiresGrad) return;
            var total = adjoints[id] = Local(typeof(T), $"g{id}");
            setup.Add(Expression.Assign(total, zero));
            finish.Add(Expression.Assign(Expression.ArrayAccess(scalarAdjoints, Expression.Constant(id)), total));
        }

        foreach (var id in lanes)
        {
            var node = nodes[id];
            Operand(node.X);
            Operand(node.Y);
            var value = Local(typeof(T), $"v{id}");
            values[id] = value;
            body.Add(Expression.Assign(value, Expression.Call(ForwardRule, Expression.Constant(OpOf(node)), values[node.X]!,
                node.Y >= 0 ? values[node.Y]! : zero, Expression.Constant(node.Constant, typeof(T)))));
            if (withGrad && node.RequiresGrad) adjoints[id] = Local(typeof(T), $"g{id}");
        }
        Operand(root.X);
        Operand(root.Y);
        body.Add(Expression.Assign(sum, root.Op == Op.Dot
            ? Expression.Call(AccumulateRule, sum, values[root.X]!, values[root.Y]!)
            : Expression.Call(AddRule, sum, values[root.X]!)));

        if (withGrad)
        {
            // A row's adjoints start at their first contribution (assigned, where the interpreter adds it to a zero:
            // the same number but for the sign of a zero), which saves an add per node and row.
            var started = new HashSet<ParameterExpression>();
            var perRow = lanes.Select(id => adjoints[id]).Concat(rowAdjoints.Select(r => r.Adjoint)).OfType<ParameterExpression>().ToHashSet();
            void Contribute(ParameterExpression adjoint, Expression g, Expression slope)
            {
                body.Add(Expression.Assign(adjoint, !perRow.Contains(adjoint) || !started.Add(adjoint)
                    ? Expression.Call(AccumulateRule, adjoint, g, slope)
                    : Expression.Call(MultiplyRule, g, slope)));
            }
            var seed = Expression.Constant(root.Op == Op.Mean ? T.One / T.CreateChecked(length) : T.One, typeof(T));
            if (root.Op == Op.Dot)
            {
                if (adjoints[root.X] is { } gx) Contribute(gx, seed, values[root.Y]!);
                if (adjoints[root.Y] is { } gy) Contribute(gy, seed, values[root.X]!);
            }
            else if (adjoints[root.X] is { } gx)
            {
                Contribute(gx, seed, Expression.Constant(T.One, typeof(T)));
            }
            for (var lane = lanes.Length - 1; lane >= 0; lane--)
            {
                var id = lanes[lane];
                var node = nodes[id];
                if (adjoints[id] is not { } g) continue;
                // Nothing downstream of this lane reached the reduction: its adjoint is zero in every row.
                if (!started.Contains(g)) body.Add(Expression.Assign(g, zero));
                var op = Expression.Constant(OpOf(node));
                Expression x = values[node.X]!, y = node.Y >= 0 ? values[node.Y]! : zero;
                if (adjoints[node.X] is { } gx)
                    Contribute(gx, g, Expression.Call(SlopeX, op, x, y, values[id]!, Expression.Constant(node.Constant, typeof(T))));
                if (node.Y >= 0 && adjoints[node.Y] is { } gy)
                    Contribute(gy, g, Expression.Call(SlopeY, op, x, y, values[id]!));
            }
            foreach (var (adjoint, _) in rowAdjoints)
                if (!started.Contains(adjoint)) body.Add(Expression.Assign(adjoint, zero));
            // Adding zero turns a -0 from a first contribution into the +0 the chunk kernels give.
            foreach (var (adjoint, array) in rowAdjoints)
                body.Add(Expression.Assign(Expression.ArrayAccess(array, row), Expression.Call(AddRule, adjoint, zero)));
        }

        var done = Expression.Label("done");
        body.Add(Expression.PreIncrementAssign(row));
        var loop = Expression.Loop(Expression.IfThenElse(Expression.LessThan(row, end), Expression.Block(body), Expression.Break(done)), done);
        var method = Expression.Block(locals,
            [.. setup, Expression.Assign(row, start), loop, .. finish, sum]);
        var sweep = Expression.Lambda<Sweep>(method, arraysParameter, start, end, scalarAdjoints).Compile();
        return (sweep, [.. arrays]);
    }

    static Op OpOf(TapeNode<T> node) => node.Op == Op.PowConstant && node.Constant == T.CreateChecked(2) ? Op.Square : node.Op;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static T Accumulate(T sum, T g, T slope) => sum + g * slope;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static T Add(T sum, T term) => sum + term;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static T Multiply(T g, T slope) => g * slope;
}
