using System.Numerics;
using Autograd.Expressions;

namespace Autograd.Optimization;

/// <summary>An objective that changes between iterations, such as one that draws a new mini-batch.</summary>
public interface IIterationAware
{
    /// <summary>Called by the minimizer before iteration <paramref name="iteration"/> (1-based) evaluates anything.</summary>
    void BeginIteration(int iteration);
}

/// <summary>
/// A formula over data columns evaluated on one mini-batch of rows per iteration. The formula is compiled
/// with columns of batch length; each iteration gathers the next batch into them. Batches follow a
/// permutation of the rows drawn afresh each epoch from a seeded generator, so a run is reproducible bit
/// for bit; rows left over after the last whole batch of an epoch are skipped (as drop_last in PyTorch).
/// </summary>
public sealed class MiniBatchObjective<T> : IObjective<T>, IIterationAware, ICheckpointedObjective, IReplayHistory
    where T : IFloatingPointIeee754<T>
{
    readonly CompiledFormula<T> _formula;
    readonly FormulaObjective<T> _objective;
    readonly (int Slot, T[] Column)[] _columns;
    readonly int _batchSize;
    readonly int[] _order;
    readonly int _seed;
    Random? _random;
    readonly T[] _batch;

    /// <param name="columns">The full data columns by input slot; the formula's inputs at those slots have batch length.</param>
    public MiniBatchObjective(CompiledFormula<T> formula, IReadOnlyList<(int Slot, T[] Column)> columns, int batchSize, bool shuffle, int seed)
    {
        if (columns.Count == 0) throw new ArgumentException("Mini-batches need at least one data column.", nameof(columns));
        var rows = columns[0].Column.Length / Math.Max(1, formula.Inputs[columns[0].Slot].Columns);
        if (batchSize < 1 || batchSize > rows) throw new ArgumentOutOfRangeException(nameof(batchSize), $"The batch size must be between 1 and {rows}.");
        _formula = formula;
        _objective = new FormulaObjective<T>(formula);
        _columns = [.. columns];
        _batchSize = batchSize;
        _order = Enumerable.Range(0, rows).ToArray();
        _seed = seed;
        _random = shuffle ? new Random(seed) : null;
        _batch = new T[batchSize * columns.Max(c => Math.Max(1, formula.Inputs[c.Slot].Columns))];
        BatchesPerEpoch = rows / batchSize;
    }

    public int Dimension => _objective.Dimension;

    public long ReplayHistory
    {
        get => _formula.ReplayHistory;
        set => _formula.ReplayHistory = value;
    }
    public int BatchesPerEpoch { get; }
    /// <summary>The 1-based epoch of the current iteration.</summary>
    public int Epoch { get; private set; }

    public void BeginIteration(int iteration)
    {
        var batch = (iteration - 1) % BatchesPerEpoch;
        var epoch = (iteration - 1) / BatchesPerEpoch + 1;
        if (epoch != Epoch)
        {
            Epoch = epoch;
            if (_random is not null) Shuffle();
        }
        var start = batch * _batchSize;
        foreach (var (slot, column) in _columns)
        {
            // A data matrix (the model shorthand's X) is gathered row by row.
            var width = Math.Max(1, _formula.Inputs[slot].Columns);
            for (var i = 0; i < _batchSize; i++)
                column.AsSpan(_order[start + i] * width, width).CopyTo(_batch.AsSpan(i * width, width));
            _formula.SetInput(slot, _batch.AsSpan(0, _batchSize * width));
        }
    }

    public T ValueAndGradient(ReadOnlySpan<T> x, Span<T> gradient) => _objective.ValueAndGradient(x, gradient);

    public void Hessian(ReadOnlySpan<T> x, Span<T> matrix) => _objective.Hessian(x, matrix);

    public T[] CurrentParameters() => _objective.CurrentParameters();

    public MiniBatchState ExportState() => new(Epoch, [.. _order]);

    /// <summary>
    /// Continues from <paramref name="state"/>. <see cref="Random"/>'s state cannot be exported, so the generator is
    /// brought to it by drawing, from the seed, the shuffles of the epochs before; the order they give must be the one saved.
    /// </summary>
    public void ImportState(MiniBatchState state)
    {
        if (state.Order.Length != _order.Length)
            throw new ArgumentException($"The checkpoint orders {state.Order.Length} rows; this data has {_order.Length}.", nameof(state));
        for (var i = 0; i < _order.Length; i++) _order[i] = i;
        if (_random is not null)
        {
            _random = new Random(_seed);
            for (var epoch = 1; epoch <= state.Epoch; epoch++) Shuffle();
        }
        if (!_order.AsSpan().SequenceEqual(state.Order))
            throw new ArgumentException("The checkpoint's row order is not the one this seed draws: it belongs to another run.", nameof(state));
        Epoch = state.Epoch;
    }

    void Shuffle()
    {
        for (var i = _order.Length - 1; i > 0; i--)
        {
            var j = _random!.Next(i + 1);
            (_order[i], _order[j]) = (_order[j], _order[i]);
        }
    }
}
