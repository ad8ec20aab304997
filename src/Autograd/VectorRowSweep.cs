using System.Linq.Expressions;
using System.Numerics;
using System.Reflection;
using System.Runtime.Intrinsics;

namespace Autograd;

/// <summary>
/// The one-pass sweep of a <see cref="FusedReplay{T}"/> compiled into a loop over groups of rows, one
/// <see cref="Vector512{T}"/> (8 doubles, 16 floats) at a time: each group's chain of elementwise ops runs forward and
/// straight back in registers, with no chunk buffers. Built from <see cref="VectorRowKernels{T}"/>. The reduction and
/// each scalar's adjoint add up in two vector accumulators each, one for the even and one for the odd groups counted
/// from the first row (a multiple of two groups), lane k taking the group's k-th row; the two are added and their
/// lanes summed in a fixed order at the end:
/// the grouping depends only on the rows, never on addresses or threads, so reruns give the same bits.
/// Runs whole groups only; the caller runs the last few rows on the chunk kernels.
/// </summary>
internal static class VectorRowSweep<T> where T : IFloatingPointIeee754<T>
{
    /// <summary>Where the hardware has AVX-512; elsewhere the scalar <see cref="CompiledRowSweep{T}"/> takes chains of arithmetic.</summary>
    public static bool IsSupported => Vector512.IsHardwareAccelerated && (typeof(T) == typeof(double) || typeof(T) == typeof(float));

    /// <summary>Rows per group.</summary>
    public static int Width => Vector512<T>.Count;

    static readonly Type V = typeof(Vector512<T>);
    static readonly Type Kernels = typeof(VectorRowKernels<T>);
    static MethodInfo Rule(string name) => Kernels.GetMethod(name, BindingFlags.Public | BindingFlags.Static)!;
    static readonly MethodInfo ForwardRule = Rule(nameof(VectorRowKernels<T>.Forward));
    static readonly MethodInfo SlopeX = Rule(nameof(VectorRowKernels<T>.DX));
    static readonly MethodInfo SlopeY = Rule(nameof(VectorRowKernels<T>.DY));
    static readonly MethodInfo LoadRule = Rule(nameof(VectorRowKernels<T>.Load));
    static readonly MethodInfo StoreRule = Rule(nameof(VectorRowKernels<T>.Store));
    static readonly MethodInfo AccumulateRule = Rule(nameof(VectorRowKernels<T>.Accumulate));
    static readonly MethodInfo AddRule = Rule(nameof(VectorRowKernels<T>.Add));
    static readonly MethodInfo SubtractRule = Rule(nameof(VectorRowKernels<T>.Subtract));
    static readonly MethodInfo TotalRule = Rule(nameof(VectorRowKernels<T>.Total));
    static readonly MethodInfo SinCosRule = Rule(nameof(VectorRowKernels<T>.SinCos));
    static readonly MethodInfo Broadcast = typeof(Vector512).GetMethods(BindingFlags.Public | BindingFlags.Static)
        .Single(m => m.Name == nameof(Vector512.Create) && m.IsGenericMethodDefinition && m.GetParameters() is [{ ParameterType.IsGenericParameter: true }])
        .MakeGenericMethod(typeof(T));

    /// <summary>Longer chains stay on the chunk kernels: past some dozens of vector locals the JIT spills most of them.</summary>
    public const int MaxLanes = 64;

    /// <summary>
    /// Compiles rows [start, end) of whole groups (end - start a multiple of <see cref="Width"/>): returns the
    /// reduction's partial sum (before dividing a mean), writes each vector input's adjoint for those rows, and each
    /// scalar's adjoint contribution into <c>scalarAdjoints[node id]</c>.
    /// </summary>
    public static (CompiledRowSweep<T>.Sweep Sweep, T[][] Arrays) Compile(IReadOnlyList<TapeNode<T>> nodes, int[] lanes,
        Func<int, bool> isVectorInput, int reduction, int length)
    {
        var arrays = new List<T[]>();
        var arraysParameter = Expression.Parameter(typeof(T[][]), "arrays");
        var start = Expression.Parameter(typeof(int), "start");
        var end = Expression.Parameter(typeof(int), "end");
        var scalarAdjoints = Expression.Parameter(typeof(T[]), "scalarAdjoints");
        var row = Expression.Variable(typeof(int), "row");
        // Vector constants as Vector512.Create(literal), which the JIT folds: a struct constant would live in the
        // closure, boxed, and its unboxing (a helper call) would force every vector local out of registers.
        var zero = Expression.Property(null, V.GetProperty(nameof(Vector512<T>.Zero))!);
        var locals = new List<ParameterExpression> { row };
        var setup = new List<Expression>();
        var finish = new List<Expression>();
        var root = nodes[reduction];
        var withGrad = root.RequiresGrad;

        ParameterExpression Local(Type type, string name)
        {
            var local = Expression.Variable(type, name);
            locals.Add(local);
            return local;
        }

        ParameterExpression Accumulator(string name)
        {
            var local = Local(V, name);
            setup.Add(Expression.Assign(local, zero));
            return local;
        }

        Expression ArrayArgument(T[] array)
        {
            arrays.Add(array);
            return Expression.ArrayIndex(arraysParameter, Expression.Constant(arrays.Count - 1));
        }

        Expression Splat(T value) => Expression.Call(Broadcast, Expression.Constant(value, typeof(T)));

        // Two sets of accumulators, for even and odd groups counted from the first row, so that consecutive groups
        // do not wait on each other's adds; added together in a fixed order at the end.
        var sums = new[] { Accumulator("sum0"), Accumulator("sum1") };
        var scalarValues = new Expression?[nodes.Count];
        var scalarTotals = new[] { new ParameterExpression?[nodes.Count], new ParameterExpression?[nodes.Count] };
        var columns = new ParameterExpression?[nodes.Count];
        var adjointColumns = new ParameterExpression?[nodes.Count];
        var seed = Splat(root.Op == Op.Mean ? T.One / T.CreateChecked(length) : T.One);

        // The forward and backward code of one group of rows starting at `at`, adding into accumulator set `set`.
        List<Expression> Group(Expression at, int set)
        {
            var body = new List<Expression>();
            var values = new Expression?[nodes.Count];
            var adjoints = new ParameterExpression?[nodes.Count];
            // The other half of sin and cos, computed with the value when the slope is needed.
            var partners = new ParameterExpression?[nodes.Count];
            var rowAdjoints = new List<(ParameterExpression Adjoint, ParameterExpression Array)>();

            void Operand(int id)
            {
                if (id < 0 || values[id] is not null) return;
                var node = nodes[id];
                if (isVectorInput(id))
                {
                    if (columns[id] is null)
                    {
                        columns[id] = Local(typeof(T[]), $"column{id}");
                        setup.Add(Expression.Assign(columns[id]!, ArrayArgument(node.Value)));
                    }
                    var element = Local(V, $"v{id}_{set}");
                    values[id] = element;
                    body.Add(Expression.Assign(element, Expression.Call(LoadRule, columns[id]!, at)));
                    if (!withGrad || !node.RequiresGrad) return;
                    if (adjointColumns[id] is null)
                    {
                        adjointColumns[id] = Local(typeof(T[]), $"adjoint{id}");
                        setup.Add(Expression.Assign(adjointColumns[id]!, ArrayArgument(node.Adjoint)));
                    }
                    var adjoint = adjoints[id] = Local(V, $"g{id}_{set}");
                    rowAdjoints.Add((adjoint, adjointColumns[id]!));
                    return;
                }
                // A scalar: broadcast once before the loop; its adjoint sums over the rows in vector accumulators.
                if (scalarValues[id] is null)
                {
                    if (node.IsLiteral) scalarValues[id] = Splat(node.Value[0]);
                    else
                    {
                        var value = Local(V, $"v{id}");
                        setup.Add(Expression.Assign(value,
                            Expression.Call(Broadcast, Expression.ArrayIndex(ArrayArgument(node.Value), Expression.Constant(0)))));
                        scalarValues[id] = value;
                    }
                    if (withGrad && node.RequiresGrad)
                    {
                        var (a, b) = (scalarTotals[0][id] = Accumulator($"g{id}_0"), scalarTotals[1][id] = Accumulator($"g{id}_1"));
                        finish.Add(Expression.Assign(Expression.ArrayAccess(scalarAdjoints, Expression.Constant(id)),
                            Expression.Call(TotalRule, Expression.Call(AddRule, a, b))));
                    }
                }
                values[id] = scalarValues[id];
                adjoints[id] = scalarTotals[set][id];
            }

            foreach (var id in lanes)
            {
                var node = nodes[id];
                Operand(node.X);
                Operand(node.Y);
                var value = Local(V, $"v{id}_{set}");
                values[id] = value;
                var op = OpOf(node);
                var slopeNeeded = withGrad && node.RequiresGrad && adjoints[node.X] is not null;
                if (op is Op.Sin or Op.Cos && slopeNeeded)
                {
                    var pair = Local(typeof((Vector512<T>, Vector512<T>)), $"sincos{id}_{set}");
                    body.Add(Expression.Assign(pair, Expression.Call(SinCosRule, values[node.X]!)));
                    var partner = partners[id] = Local(V, $"p{id}_{set}");
                    body.Add(Expression.Assign(value, Expression.Field(pair, op == Op.Sin ? "Item1" : "Item2")));
                    body.Add(Expression.Assign(partner, Expression.Field(pair, op == Op.Sin ? "Item2" : "Item1")));
                }
                else
                {
                    body.Add(Expression.Assign(value, Expression.Call(ForwardRule, Expression.Constant(op), values[node.X]!,
                        node.Y >= 0 ? values[node.Y]! : zero)));
                }
                if (withGrad && node.RequiresGrad) adjoints[id] = Local(V, $"g{id}_{set}");
            }
            Operand(root.X);
            Operand(root.Y);
            var sum = sums[set];
            body.Add(Expression.Assign(sum, root.Op == Op.Dot
                ? Expression.Call(AccumulateRule, sum, values[root.X]!, values[root.Y]!)
                : Expression.Call(AddRule, sum, values[root.X]!)));
            if (!withGrad) return body;

            // A group's adjoints start at their first contribution (assigned, where the chunk kernels add it to a zero:
            // the same number but for the sign of a zero, which only ever reaches other zeros, and the stores below
            // turn into +0), which saves an add per node and group.
            var started = new HashSet<ParameterExpression>();
            var perGroup = lanes.Select(id => adjoints[id]).Concat(rowAdjoints.Select(r => r.Adjoint)).OfType<ParameterExpression>().ToHashSet();
            bool First(ParameterExpression adjoint) => perGroup.Contains(adjoint) && started.Add(adjoint);
            void Contribute(ParameterExpression adjoint, Expression g, Expression slope) =>
                body.Add(Expression.Assign(adjoint, First(adjoint)
                    ? Expression.Multiply(g, slope)
                    : Expression.Call(AccumulateRule, adjoint, g, slope)));
            void AddInto(ParameterExpression adjoint, Expression g, bool negate) =>
                body.Add(Expression.Assign(adjoint, First(adjoint)
                    ? negate ? Expression.Negate(g) : g
                    : Expression.Call(negate ? SubtractRule : AddRule, adjoint, g)));

            if (root.Op == Op.Dot)
            {
                if (adjoints[root.X] is { } gx) Contribute(gx, seed, values[root.Y]!);
                if (adjoints[root.Y] is { } gy) Contribute(gy, seed, values[root.X]!);
            }
            else if (adjoints[root.X] is { } gx)
            {
                AddInto(gx, seed, negate: false);
            }
            for (var lane = lanes.Length - 1; lane >= 0; lane--)
            {
                var id = lanes[lane];
                var node = nodes[id];
                if (adjoints[id] is not { } g) continue;
                // Nothing downstream of this lane reached the reduction: its adjoint is zero in every row.
                if (!started.Contains(g)) body.Add(Expression.Assign(g, zero));
                var op = OpOf(node);
                Expression x = values[node.X]!, y = node.Y >= 0 ? values[node.Y]! : zero;
                switch (op)
                {
                    // Slopes of ±1 add or subtract g itself: g * 1 and g * -1 are exact, so the bits are the same.
                    case Op.Add or Op.Sub:
                        if (adjoints[node.X] is { } ax) AddInto(ax, g, negate: false);
                        if (adjoints[node.Y] is { } ay) AddInto(ay, g, negate: op == Op.Sub);
                        continue;
                    case Op.Neg:
                        if (adjoints[node.X] is { } an) AddInto(an, g, negate: true);
                        continue;
                    case Op.Sin or Op.Cos:
                        // d sin = cos, d cos = -sin: g * -sin added is g * sin subtracted.
                        if (adjoints[node.X] is { } ag)
                        {
                            if (op == Op.Sin) Contribute(ag, g, partners[id]!);
                            else body.Add(Expression.Assign(ag, First(ag)
                                ? Expression.Negate(Expression.Multiply(g, partners[id]!))
                                : Expression.Subtract(ag, Expression.Multiply(g, partners[id]!))));
                        }
                        continue;
                }
                if (adjoints[node.X] is { } gx)
                    Contribute(gx, g, Expression.Call(SlopeX, Expression.Constant(op), x, y, values[id]!));
                if (node.Y >= 0 && adjoints[node.Y] is { } gy)
                    Contribute(gy, g, Expression.Call(SlopeY, Expression.Constant(op), x, y, values[id]!));
            }
            foreach (var (adjoint, _) in rowAdjoints)
                if (!started.Contains(adjoint)) body.Add(Expression.Assign(adjoint, zero));
            // Adding zero turns a -0 from a first contribution into the +0 the chunk kernels give.
            foreach (var (adjoint, array) in rowAdjoints)
                body.Add(Expression.Call(StoreRule, Expression.Call(AddRule, adjoint, zero), array, at));
            return body;
        }

        // Two groups per turn while two are left, then the last one, if any, in the even set.
        var width = Expression.Constant(Width);
        var pairs = Expression.Label("pairs");
        var pairLoop = Expression.Loop(Expression.IfThenElse(
            Expression.LessThanOrEqual(row, Expression.Subtract(end, Expression.Constant(2 * Width))),
            Expression.Block([.. Group(row, 0), .. Group(Expression.Add(row, width), 1),
                Expression.AddAssign(row, Expression.Constant(2 * Width))]),
            Expression.Break(pairs)), pairs);
        var last = Expression.IfThen(Expression.LessThan(row, end), Expression.Block(Group(row, 0)));
        var method = Expression.Block(typeof(T), locals,
            [.. setup, Expression.Assign(row, start), pairLoop, last, .. finish,
                Expression.Call(TotalRule, Expression.Call(AddRule, sums[0], sums[1]))]);
        var sweep = Expression.Lambda<CompiledRowSweep<T>.Sweep>(method, arraysParameter, start, end, scalarAdjoints).Compile();
        return (sweep, [.. arrays]);
    }

    static Op OpOf(TapeNode<T> node) => node.Op == Op.PowConstant && node.Constant == T.CreateChecked(2) ? Op.Square : node.Op;
}
