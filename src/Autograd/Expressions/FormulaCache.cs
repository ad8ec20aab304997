using System.Collections.Concurrent;
using System.Numerics;

namespace Autograd.Expressions;

/// <summary>
/// Parsed formulas by text, and pools of compiled formulas by text, element type and input shapes, so a
/// repeated request replays a recorded tape instead of parsing and recording again. Thread-safe; each
/// rented compiled formula is used by one caller at a time. Past its capacity the cache starts over.
/// </summary>
/// <param name="memory">Where pooled copies are charged: a copy that does not fit is not pooled. None: no accounting.</param>
public sealed class FormulaCache(int capacity = 256, IRetainedMemory? memory = null)
{
    readonly ConcurrentDictionary<string, Formula> _parsed = new();
    readonly ConcurrentDictionary<PoolKey, ConcurrentQueue<object>> _compiled = new();
    long _hits;
    long _misses;

    public long Hits => Interlocked.Read(ref _hits);
    public long Misses => Interlocked.Read(ref _misses);

    /// <exception cref="FormulaException">The text does not parse within <paramref name="limits"/>.</exception>
    public Formula Parse(string text, FormulaLimits limits)
    {
        if (_parsed.TryGetValue(text, out var formula)) return formula;
        formula = Formula.Parse(text, limits);
        if (_parsed.Count >= capacity) _parsed.Clear();  // Count takes every lock, but only on a miss.
        _parsed[text] = formula;
        return formula;
    }

    /// <summary>A compiled formula for these inputs, from the pool or newly recorded; give it back with <see cref="Return{T}"/>.</summary>
    public CompiledFormula<T> Rent<T>(string text, IReadOnlyList<InputSpec> inputs, FormulaLimits limits)
        where T : IFloatingPointIeee754<T>
    {
        var key = new PoolKey(typeof(T), text, inputs);
        if (_compiled.TryGetValue(key, out var pool) && pool.TryDequeue(out var pooled))
        {
            Interlocked.Increment(ref _hits);
            var copy = (CompiledFormula<T>)pooled;
            memory?.Release(copy.RetainedBytes);
            return copy;
        }
        Interlocked.Increment(ref _misses);
        var compiled = CompiledFormula<T>.Compile(Parse(text, limits), inputs, limits.MaxTapeElements);
        compiled.CacheKey = key;
        return compiled;
    }

    /// <summary>Formulas over more input elements than this are not pooled: recording them again is cheap next to their data.</summary>
    public const long MaxPooledInputElements = 100_000;

    /// <summary>Copies of one formula kept: enough for every concurrent request a small server sees.</summary>
    public const int MaxPooledPerKey = 16;

    public void Return<T>(CompiledFormula<T> compiled) where T : IFloatingPointIeee754<T>
    {
        if (compiled.HasBoundInputs || compiled.InputElements > MaxPooledInputElements) return;
        compiled.Tape.ResetRowSweep();
        var key = compiled.CacheKey ?? new PoolKey(typeof(T), compiled.Formula.Text, compiled.Inputs);
        if (!_compiled.TryGetValue(key, out var pool))
        {
            if (_compiled.Count >= capacity) ClearPools();
            pool = _compiled.GetOrAdd(key, _ => new ConcurrentQueue<object>());
        }
        if (pool.Count >= MaxPooledPerKey || memory?.TryReserve(compiled.RetainedBytes) == false) return;
        pool.Enqueue(compiled);
    }

    /// <summary>Starts the pools over, giving back what their copies were charged.</summary>
    void ClearPools()
    {
        foreach (var key in _compiled.Keys)
            if (_compiled.TryRemove(key, out var pool))
                while (pool.TryDequeue(out var copy))
                    memory?.Release(((IRetainedBytes)copy).RetainedBytes);
    }
}

/// <summary>A ledger of retained memory (the service's budget): pooled tapes are charged to it.</summary>
public interface IRetainedMemory
{
    bool TryReserve(long bytes);
    void Release(long bytes);
}

/// <summary>Something that knows the memory it holds.</summary>
public interface IRetainedBytes
{
    long RetainedBytes { get; }
}

/// <summary>What makes two compiled formulas interchangeable: element type, formula text, and each input's name, kind and shape.</summary>
internal sealed class PoolKey : IEquatable<PoolKey>
{
    readonly Type _type;
    readonly string _text;
    readonly InputSpec[] _inputs;
    readonly int _hash;

    public PoolKey(Type type, string text, IReadOnlyList<InputSpec> inputs)
    {
        _type = type;
        _text = text;
        _inputs = [.. inputs];
        var hash = new HashCode();
        hash.Add(type);
        hash.Add(text);
        foreach (var input in _inputs) hash.Add(input);
        _hash = hash.ToHashCode();
    }

    public bool Equals(PoolKey? other) =>
        other is not null && _hash == other._hash && _type == other._type && _text == other._text && _inputs.AsSpan().SequenceEqual(other._inputs);

    public override bool Equals(object? obj) => Equals(obj as PoolKey);
    public override int GetHashCode() => _hash;
}
